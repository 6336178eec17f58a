"""Console URLs for providers, the model catalog and negotiated prices."""

from __future__ import annotations

from django.urls import path

from routing import views

app_name = "routing"
urlpatterns = [
    path("providers/", views.provider_list, name="provider-list"),
    path("providers/<slug:slug>/key/", views.credential_set, name="credential-set"),
    path("provider-keys/<uuid:credential_id>/delete/", views.credential_delete, name="credential-delete"),
    path("models/", views.model_list, name="model-list"),
    path("prices/", views.price_list, name="price-list"),
    path("prices/set/", views.price_set, name="price-set"),
    path("prices/<uuid:price_id>/delete/", views.price_delete, name="price-delete"),
]
