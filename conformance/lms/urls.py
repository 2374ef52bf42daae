"""The URLs the LMS serves that blocks reverse() while rendering (edx-val's API: the video block's
player configuration links to it). Installed for the duration of a replayed request only."""
from django.urls import include, path

urlpatterns = [path("api/val/v0/", include("edxval.urls"))]
