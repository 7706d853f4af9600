"""Exports and imports of the directory (included by contacts/urls.py, namespace "contacts")."""

from django.urls import path

from . import transfer_views as views

urlpatterns = [
    # `source` is the list page whose filters apply: organizations or focal-points.
    path("exports/<slug:source>/csv/", views.CsvExportView.as_view(), name="export_csv"),
    path("exports/<slug:source>/xlsx/", views.XlsxExportView.as_view(), name="export_xlsx"),
    path("exports/<slug:source>/vcard/", views.VcardExportView.as_view(), name="export_vcard"),
    path("exports/<slug:source>/pdf/", views.PdfExportView.as_view(), name="export_pdf"),
    path("focal-points/<int:pk>/vcard/", views.FocalPointVcardView.as_view(), name="focal_point_vcard"),
    path("exports/log/", views.ExportLogView.as_view(), name="export_log"),
    path("import/", views.ImportUploadView.as_view(), name="import_upload"),
    path("import/<str:key>/", views.ImportPreviewView.as_view(), name="import_preview"),
    path("import/<str:key>/commit/", views.ImportCommitView.as_view(), name="import_commit"),
]
