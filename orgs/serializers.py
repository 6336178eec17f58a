"""Management API serializers: they render rows and parse input; writes go through orgs.services."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orgs.filters import INVITATION_STATUSES, KEY_STATUSES, member_match
from orgs.models import ApiKey, ApiKeyKind, AuditLog, Invitation, Membership, Organization, Team


def status_field(component: str, values: list[str]) -> serializers.ChoiceField:
    """A read-only status with its own enum component (invitations and keys both have a `status`)."""

    @extend_schema_field({"type": "string", "enum": values}, component_name=component)
    class StatusField(serializers.ChoiceField):
        pass

    return StatusField(choices=values, read_only=True)


class OrgTeamField(serializers.PrimaryKeyRelatedField):
    """A team id, resolved only among the current organization's teams (another org's is 'does not exist')."""

    def get_queryset(self):
        return Team.objects.for_org(self.context["request"].org)


@extend_schema_field(OpenApiTypes.STR)
class OrgMemberField(serializers.Field):
    """A member of the current organization, named by email, member id or user id; validates to their User."""

    default_error_messages = {"unknown": "No member of this organization has this email or id."}

    def to_internal_value(self, data):
        if not isinstance(data, str | int) or isinstance(data, bool):
            self.fail("unknown")
        membership = (
            Membership.objects.for_org(self.context["request"].org)
            .filter(member_match(str(data)))
            .select_related("user")
            .first()
        )
        if membership is None:
            self.fail("unknown")
        return membership.user

    def to_representation(self, value):
        return value.email


class OrganizationSerializer(serializers.ModelSerializer):
    """The current organization."""

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "billing_email", "created_at"]
        read_only_fields = ["id", "slug", "created_at"]


class TeamSerializer(serializers.ModelSerializer):
    """A team with its member and key counts."""

    member_count = serializers.IntegerField(read_only=True)
    key_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "description", "member_count", "key_count", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembershipSerializer(serializers.ModelSerializer):
    """A member: their email, role and teams."""

    email = serializers.EmailField(source="user.email", read_only=True)
    teams = OrgTeamField(many=True, required=False, queryset=Team.objects.none())

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "teams", "created_at"]
        read_only_fields = ["id", "email", "created_at"]


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation; its link token is never shown."""

    teams = OrgTeamField(many=True, required=False, queryset=Team.objects.none())
    status = status_field("InvitationStatus", INVITATION_STATUSES)
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "teams",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = ["id", "created_at", "expires_at", "accepted_at", "revoked_at"]


class ApiKeySerializer(serializers.ModelSerializer):
    """An API key as listed: its prefix, never its hash or plaintext."""

    user = OrgMemberField(required=False, help_text="The owner: an email, member id or user id (default: you).")
    team = OrgTeamField(required=False, allow_null=True, queryset=Team.objects.none())
    kind = serializers.ChoiceField(choices=ApiKeyKind.choices, default=ApiKeyKind.GATEWAY)
    status = status_field("ApiKeyStatus", KEY_STATUSES)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "kind",
            "prefix",
            "user",
            "team",
            "status",
            "created_by",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    """A key just issued: the only response that carries the plaintext `key`."""

    key = serializers.SerializerMethodField(help_text="The plaintext key. Shown once; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]

    def get_key(self, obj: ApiKey) -> str:
        return self.context["plaintext"]


class AuditLogSerializer(serializers.ModelSerializer):
    """One audit row."""

    actor = serializers.CharField(source="actor_email", read_only=True)

    class Meta:
        model = AuditLog
        fields = [
            "id",
            "action",
            "actor",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "ip",
            "created_at",
        ]
        read_only_fields = fields
