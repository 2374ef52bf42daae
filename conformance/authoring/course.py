"""The tiny course every scenario starts from, written as OLX (both sides import the same files).

course > chapter ach1 > sequential as1 > vertical av1 > html ah1, problem ap1
       > chapter ach2 > sequential as2 > vertical av2 > html ah2
(ids of their own: the base course stays in the test database, and other tests look blocks up by id)
"""
from __future__ import annotations

from pathlib import Path

COURSE, CH1, S1, V1, H1, P1 = (("course", "course"), ("chapter", "ach1"), ("sequential", "as1"), ("vertical", "av1"),
                               ("html", "ah1"), ("problem", "ap1"))
CH2, S2, V2, H2 = ("chapter", "ach2"), ("sequential", "as2"), ("vertical", "av2"), ("html", "ah2")

FILES = {
    "course.xml": '<course url_name="course" org="AuthC" course="Conf"/>',
    "course/course.xml": '<course display_name="Authoring conformance" start="2020-01-01T00:00:00Z">'
                         '<chapter url_name="ach1"/><chapter url_name="ach2"/></course>',
    "chapter/ach1.xml": '<chapter display_name="Chapter 1"><sequential url_name="as1"/></chapter>',
    "sequential/as1.xml": '<sequential display_name="Seq 1" graded="true" format="Homework">'
                         '<vertical url_name="av1"/></sequential>',
    "vertical/av1.xml": '<vertical display_name="Unit 1"><html url_name="ah1"/><problem url_name="ap1"/></vertical>',
    "html/ah1.xml": '<html filename="ah1" display_name="Text 1"/>',
    "html/ah1.html": "<p>Hello</p>",
    "problem/ap1.xml": '<problem display_name="Problem 1" max_attempts="2"><p>2+2?</p>'
                      '<numericalresponse answer="4"><formulaequationinput/></numericalresponse></problem>',
    "chapter/ach2.xml": '<chapter display_name="Chapter 2"><sequential url_name="as2"/></chapter>',
    "sequential/as2.xml": '<sequential display_name="Seq 2"><vertical url_name="av2"/></sequential>',
    "vertical/av2.xml": '<vertical display_name="Unit 2"><html url_name="ah2"/></vertical>',
    "html/ah2.xml": '<html filename="ah2" display_name="Text 2"/>',
    "html/ah2.html": "<p>Second</p>",
}


def write_base_course(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
