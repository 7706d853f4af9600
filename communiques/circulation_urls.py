"""The secretariat's circulation pages; communiques/urls.py appends these (namespace "communiques")."""

from django.urls import path

from . import circulation_views as views

urlpatterns = [
    path("secretariat/circulation/", views.CirculationView.as_view(), name="circulation"),
    path("secretariat/circulation/preview/", views.CirculationPreviewView.as_view(), name="circulation_preview"),
    path("secretariat/circulation/send-test/", views.CirculationSendTestView.as_view(), name="circulation_send_test"),
    path("secretariat/circulation/start/", views.CirculationStartView.as_view(), name="circulation_start"),
    path("secretariat/editions/", views.EditionListView.as_view(), name="edition_list"),
    path("secretariat/editions/<int:number>/", views.EditionDetailView.as_view(), name="edition_detail"),
    path(
        "secretariat/editions/<int:number>/download/<str:fmt>/",
        views.EditionDownloadView.as_view(), name="edition_download",
    ),
    path("secretariat/dispatches/", views.DispatchListView.as_view(), name="dispatch_list"),
    path("secretariat/dispatches/<int:pk>/", views.DispatchDetailView.as_view(), name="dispatch_detail"),
    path(
        "secretariat/dispatches/<int:pk>/progress.json", views.DispatchProgressView.as_view(), name="dispatch_progress",
    ),
    path(
        "secretariat/dispatches/<int:pk>/retry-failed/",
        views.DispatchRetryFailedView.as_view(), name="dispatch_retry_failed",
    ),
    path("secretariat/schedules/", views.ScheduleListView.as_view(), name="schedule_list"),
    path("secretariat/schedules/<int:pk>/", views.ScheduleUpdateView.as_view(), name="schedule_update"),
]
