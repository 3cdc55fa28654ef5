"""Automatic invitation rules of web chat channels, with what became of their invitations."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aiohttp import web

from hub.domain.errors import InvalidInput, NotFound
from hub.domain.invitation_rules import InvitationRule
from hub.domain.transports import ServesCustomers
from hub.services.invitations import checked_rule
from hub.web import visitor_schemas as V
from hub.web.api.common import api, changes_of, path_id, read_body, read_query
from hub.web.keys import hub_of


def rule_out(rule: InvitationRule) -> V.InvitationRuleOut:
    return V.InvitationRuleOut(
        id=rule.id,
        channel_id=rule.channel_id,
        name=rule.name,
        active=rule.active,
        message=rule.message,
        page=rule.page,
        delay_s=rule.delay_s,
        min_visits=rule.min_visits,
        search_words=rule.search_words,
        cooldown_s=int(rule.cooldown.total_seconds()),
        counts=V.RuleCountsOut(
            sent=rule.counts.sent,
            accepted=rule.counts.accepted,
            declined=rule.counts.declined,
            ignored=rule.counts.ignored,
        ),
    )


async def _check_channel(request: web.Request, channel_id: int) -> None:
    hub_ = hub_of(request)
    try:
        channel = await hub_.directory.get_channel(channel_id)
    except NotFound:
        raise InvalidInput(f"channel_id: there is no channel {channel_id}") from None
    if not isinstance(hub_.deps.connectors.get(channel.kind), ServesCustomers):
        raise InvalidInput(f"channel_id: a {channel.kind} channel has no visitors on a site")


@api.route(
    "GET",
    "/invitation-rules",
    summary="The automatic invitation rules, with what became of their invitations",
    tag="visitors",
    query=V.InvitationRuleQuery,
    response=V.InvitationRuleList,
)
async def list_rules(request: web.Request) -> V.InvitationRuleList:
    query = read_query(request, V.InvitationRuleQuery)
    rules = await hub_of(request).invitation_rules.list(query.channel_id)
    return V.InvitationRuleList(items=[rule_out(r) for r in rules])


@api.route(
    "POST",
    "/invitation-rules",
    summary="Add an automatic invitation rule to a web chat channel",
    tag="visitors",
    body=V.InvitationRuleIn,
    response=V.InvitationRuleOut,
    status=201,
    admin=True,
)
async def create_rule(request: web.Request) -> V.InvitationRuleOut:
    body = await read_body(request, V.InvitationRuleIn)
    await _check_channel(request, body.channel_id)
    rule = checked_rule(
        InvitationRule(
            id=0,
            channel_id=body.channel_id,
            name=body.name,
            active=body.active,
            message=body.message,
            page=body.page,
            delay_s=body.delay_s,
            min_visits=body.min_visits,
            search_words=body.search_words,
            cooldown=timedelta(seconds=body.cooldown_s),
        )
    )
    return rule_out(await hub_of(request).invitation_rules.create(rule))


@api.route(
    "PATCH",
    "/invitation-rules/{id}",
    summary="Change an automatic invitation rule (its counts stay)",
    tag="visitors",
    body=V.InvitationRulePatch,
    response=V.InvitationRuleOut,
    admin=True,
)
async def patch_rule(request: web.Request) -> V.InvitationRuleOut:
    body = await read_body(request, V.InvitationRulePatch)
    store = hub_of(request).invitation_rules
    rule = await store.get(path_id(request))
    if rule is None:
        raise NotFound(f"invitation rule {request.match_info['id']}")
    changes = changes_of(
        body,
        not_null=(
            "name",
            "active",
            "message",
            "page",
            "delay_s",
            "min_visits",
            "search_words",
            "cooldown_s",
        ),
    )
    if "cooldown_s" in changes:
        changes["cooldown"] = timedelta(seconds=changes.pop("cooldown_s"))
    return rule_out(await store.update(checked_rule(replace(rule, **changes))))


@api.route(
    "DELETE",
    "/invitation-rules/{id}",
    summary="Remove an automatic invitation rule",
    tag="visitors",
    admin=True,
)
async def delete_rule(request: web.Request) -> None:
    if not await hub_of(request).invitation_rules.delete(path_id(request)):
        raise NotFound(f"invitation rule {request.match_info['id']}")
