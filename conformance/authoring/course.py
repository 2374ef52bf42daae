"""The tiny course every scenario starts from, written as OLX (both sides import the same files).

course > chapter ch1 > sequential s1 > vertical v1 > html h1, problem p1
       > chapter ch2 > sequential s2 > vertical v2 > html h2
"""
from __future__ import annotations

from pathlib import Path

COURSE, CH1, S1, V1, H1, P1 = (("course", "course"), ("chapter", "ch1"), ("sequential", "s1"), ("vertical", "v1"),
                               ("html", "h1"), ("problem", "p1"))
CH2, S2, V2, H2 = ("chapter", "ch2"), ("sequential", "s2"), ("vertical", "v2"), ("html", "h2")

FILES = {
    "course.xml": '<course url_name="course" org="AuthC" course="Conf"/>',
    "course/course.xml": '<course display_name="Authoring conformance" start="2020-01-01T00:00:00Z">'
                         '<chapter url_name="ch1"/><chapter url_name="ch2"/></course>',
    "chapter/ch1.xml": '<chapter display_name="Chapter 1"><sequential url_name="s1"/></chapter>',
    "sequential/s1.xml": '<sequential display_name="Seq 1" graded="true" format="Homework">'
                         '<vertical url_name="v1"/></sequential>',
    "vertical/v1.xml": '<vertical display_name="Unit 1"><html url_name="h1"/><problem url_name="p1"/></vertical>',
    "html/h1.xml": '<html filename="h1" display_name="Text 1"/>',
    "html/h1.html": "<p>Hello</p>",
    "problem/p1.xml": '<problem display_name="Problem 1" max_attempts="2"><p>2+2?</p>'
                      '<numericalresponse answer="4"><formulaequationinput/></numericalresponse></problem>',
    "chapter/ch2.xml": '<chapter display_name="Chapter 2"><sequential url_name="s2"/></chapter>',
    "sequential/s2.xml": '<sequential display_name="Seq 2"><vertical url_name="v2"/></sequential>',
    "vertical/v2.xml": '<vertical display_name="Unit 2"><html url_name="h2"/></vertical>',
    "html/h2.xml": '<html filename="h2" display_name="Text 2"/>',
    "html/h2.html": "<p>Second</p>",
}


def write_base_course(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
