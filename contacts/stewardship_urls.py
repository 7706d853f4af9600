"""A focal point's personal data: export and erasure, for the secretariat (included in contacts/urls.py)."""

from django.urls import path

from . import stewardship_views

urlpatterns = [
    path(
        "focal-points/<int:pk>/personal-data/", stewardship_views.FocalPointPersonalDataView.as_view(),
        name="focal_point_personal_data",
    ),
    path("focal-points/<int:pk>/erase/", stewardship_views.FocalPointEraseView.as_view(), name="focal_point_erase"),
]
