"""Management REST API for tenancy: every view is an OrgScopedViewSet, so no view can skip org scoping."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Model, QuerySet
from django.urls import include, path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.viewsets import GenericViewSet

from orgs import selectors, services
from orgs.api_auth import OrgRolePermission
from orgs.filters import ApiKeyFilter, AuditLogFilter, InvitationFilter, MembershipFilter, TeamFilter
from orgs.middleware import client_ip
from orgs.models import KEY_CREATOR_ROLES, ApiKey, AuditLog, Invitation, Membership, Organization, Role, Team
from orgs.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    AuditLogSerializer,
    InvitationSerializer,
    MembershipSerializer,
    OrganizationSerializer,
    TeamSerializer,
)


class ManagementTokenScheme(OpenApiAuthenticationExtension):
    """Documents ManagementTokenAuthentication as HTTP bearer auth in the schema."""

    target_class = "orgs.api_auth.ManagementTokenAuthentication"
    name = "managementKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A management API key: `Bearer rqk_...`."}


class ReadRolePermission(BasePermission):
    """Narrows reads to the view's `read_roles` when it sets them (runs after OrgRolePermission)."""

    def has_permission(self, request, view):
        allowed = getattr(view, "read_roles", None)
        return allowed is None or request.membership.role in allowed


class OrgScopedViewSet(GenericViewSet):
    """Resolves the caller's organization and reads every row through a selector for it.

    Subclasses name a `selector` taking `org=` (plus `selector_kwargs()`); objects are looked up by UUID in
    that scoped queryset, so another organization's object is a 404 exactly like a missing one.
    """

    permission_classes = [IsAuthenticated, OrgRolePermission, ReadRolePermission]
    lookup_value_converter = "uuid"
    model: type[Model]
    selector: Callable[..., QuerySet]
    read_roles: frozenset[str] | None = None

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request.org
            return self.model._default_manager.none()
        return self.selector(**self.selector_kwargs())

    def selector_kwargs(self) -> dict:
        return {"org": self.request.org}

    def service_kwargs(self) -> dict:
        """The audit context every service write takes."""
        return {"actor": self.request.user, "ip": client_ip(self.request)}

    def refetch(self, obj: Model) -> Model:
        """Re-read a written object through the scoped queryset, so the response matches a GET."""
        return self.get_queryset().get(pk=obj.pk)


class OrganizationViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, OrgScopedViewSet):
    """The caller's current organization."""

    model = Organization
    serializer_class = OrganizationSerializer
    filter_backends: list = []
    pagination_class = None

    def get_object(self) -> Organization:
        return self.request.org

    def perform_update(self, serializer):
        services.org_update(org=serializer.instance, **serializer.validated_data, **self.service_kwargs())


class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrgScopedViewSet,
):
    """Teams; writes need owner or admin."""

    model = Team
    selector = staticmethod(selectors.team_list)
    serializer_class = TeamSerializer
    filterset_class = TeamFilter

    def perform_create(self, serializer):
        team = services.team_create(org=self.request.org, **serializer.validated_data, **self.service_kwargs())
        serializer.instance = self.refetch(team)

    def perform_update(self, serializer):
        team = serializer.instance
        fields = {"name": team.name, "description": team.description, **serializer.validated_data}
        services.team_update(team=team, **fields, **self.service_kwargs())
        serializer.instance = self.refetch(team)

    def perform_destroy(self, instance):
        services.team_delete(team=instance, **self.service_kwargs())


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrgScopedViewSet,
):
    """Members: change role and teams, or remove; people join through invitations."""

    model = Membership
    selector = staticmethod(selectors.membership_list)
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter

    def perform_update(self, serializer):
        data = serializer.validated_data
        membership = services.membership_update(
            membership=serializer.instance, role=data.get("role"), teams=data.get("teams"), **self.service_kwargs()
        )
        serializer.instance = self.refetch(membership)

    def perform_destroy(self, instance):
        services.membership_remove(membership=instance, **self.service_kwargs())


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, OrgScopedViewSet):
    """Invitations by email; the link's token goes only to the invited address."""

    model = Invitation
    selector = staticmethod(selectors.invitation_list)
    serializer_class = InvitationSerializer
    filterset_class = InvitationFilter

    def perform_create(self, serializer):
        invitation, _token = services.invitation_create(
            org=self.request.org, **serializer.validated_data, **self.service_kwargs()
        )
        serializer.instance = self.refetch(invitation)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Withdraw a pending invitation."""
        invitation = services.invitation_revoke(invitation=self.get_object(), **self.service_kwargs())
        return Response(self.get_serializer(invitation).data)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """API keys. Members see, create and revoke only their own; owners and admins manage everyone's."""

    model = ApiKey
    selector = staticmethod(selectors.api_key_list)
    serializer_class = ApiKeySerializer
    filterset_class = ApiKeyFilter
    write_roles = KEY_CREATOR_ROLES

    def selector_kwargs(self) -> dict:
        return {**super().selector_kwargs(), "membership": self.request.membership}

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request):
        """Issue a key; the response carries the plaintext `key`, which is never shown again."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        owner = data.get("user", request.user)
        if owner != request.user and not request.membership.is_manager:
            raise PermissionDenied("Members can only create keys for themselves.")
        key, plaintext = services.api_key_create(
            org=request.org,
            user=owner,
            name=data["name"],
            team=data.get("team"),
            kind=data["kind"],
            expires_at=data.get("expires_at"),
            **self.service_kwargs(),
        )
        context = {**self.get_serializer_context(), "plaintext": plaintext}
        return Response(ApiKeyCreatedSerializer(self.refetch(key), context=context).data, status=201)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Revoke a key; the gateway stops accepting it within seconds."""
        key = services.api_key_revoke(key=self.get_object(), **self.service_kwargs())
        return Response(self.get_serializer(key).data)


class AuditLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """The audit trail, newest first; not for the member role."""

    model = AuditLog
    selector = staticmethod(selectors.audit_log_list)
    serializer_class = AuditLogSerializer
    filterset_class = AuditLogFilter
    read_roles = frozenset({Role.OWNER, Role.ADMIN, Role.BILLING, Role.VIEWER})


router = SimpleRouter(use_regex_path=False)
router.register("teams", TeamViewSet, basename="team")
router.register("members", MembershipViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("keys", ApiKeyViewSet, basename="key")
router.register("audit-log", AuditLogViewSet, basename="audit-log")

routes = [
    path("org/", OrganizationViewSet.as_view({"get": "retrieve", "patch": "partial_update"}), name="org"),
    *router.urls,
]
# Namespaced so the API's URL names (`api:team-list`) cannot collide with the console's.
api_urlpatterns = [path("", include((routes, "api")))]
