"""Console URLs for tenancy."""

from __future__ import annotations

from django.urls import path

from orgs import views

app_name = "orgs"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("onboarding/", views.onboarding, name="onboarding"),
    path("switch-org/", views.switch_org, name="switch-org"),
    path("teams/", views.team_list, name="team-list"),
    path("teams/new/", views.team_create, name="team-create"),
    path("teams/<uuid:team_id>/edit/", views.team_edit, name="team-edit"),
    path("teams/<uuid:team_id>/delete/", views.team_delete, name="team-delete"),
    path("members/", views.member_list, name="member-list"),
    path("members/invite/", views.member_invite, name="member-invite"),
    path("members/<uuid:membership_id>/edit/", views.member_edit, name="member-edit"),
    path("members/<uuid:membership_id>/remove/", views.member_remove, name="member-remove"),
    path("invitations/<uuid:invitation_id>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("keys/", views.key_list, name="key-list"),
    path("keys/new/", views.key_create, name="key-create"),
    path("keys/<uuid:key_id>/revoke/", views.key_revoke, name="key-revoke"),
    path("audit-log/", views.audit_log, name="audit-log"),
    path("settings/", views.org_settings, name="settings"),
]
