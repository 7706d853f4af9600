"""The secretariat's review queue of liaison edits (included in contacts/urls.py)."""

from django.urls import path

from . import review_views

urlpatterns = [
    path("reviews/", review_views.ReviewListView.as_view(), name="review_list"),
    path("reviews/mark-reviewed/", review_views.ReviewMarkView.as_view(), name="review_mark"),
    path("reviews/<int:pk>/revert/", review_views.ReviewRevertView.as_view(), name="review_revert"),
]
