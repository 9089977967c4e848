using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Leads;
using Gateway.Outbox;

namespace Gateway.Contacts;

// Assigned: the responsible user of each lead that asked for one (null: none active, amoCRM picks). Failure: the
// users or the time zone could not be looked up; the batch then waits like one whose field lists could not be read.
internal sealed record AssignmentOutcome(IReadOnlyDictionary<long, long?> Assigned, AmoResult? Failure);

// Picks each lead's responsible user once, before its first send, and prepares its follow-up task; both are stored on
// the lead's row, so a resend (after a lost answer or a crash) goes to the same user and takes no second turn.
internal sealed class LeadAssigner(AssignmentStore store, TeamDirectory directory)
{
    public const string NoneActive = "no active user to give it to: amoCRM picks";

    // A sticky manager in lead mode is the linked contact's, known only after the contact step: such a lead is not
    // assigned before that step has run (the sender runs it, then sends the lead round once more to be assigned).
    public static bool AwaitsContact(ClaimedLead lead, UnsortedLeadRequest request) =>
        request.Assignment?.Responsible is { Sticky: true }
        && request.DeliveryOrDefault is { IsDirect: true } delivery && delivery.Contacts != DeliverySettings.Create
        && !lead.Steps.ContactResolved;

    public async Task<AssignmentOutcome> AssignAsync(string account, IReadOnlyList<(ClaimedLead Lead, UnsortedLeadRequest Request)> leads, CancellationToken cancellationToken)
    {
        var asking = leads.Where(l => l.Request.Assignment is not null && !AwaitsContact(l.Lead, l.Request)).ToList();
        if (asking.Count == 0)
        {
            return new AssignmentOutcome(new Dictionary<long, long?>(), null);
        }

        var stored = await store.ReadAsync(asking.Select(l => l.Lead.Id).ToList(), cancellationToken);
        var assigned = new Dictionary<long, long?>();
        foreach (var (lead, _) in asking)
        {
            if (stored.TryGetValue(lead.Id, out var row) && row.AssignedAt is not null)
            {
                assigned[lead.Id] = row.ResponsibleUserId;
            }
        }

        var fresh = asking.Where(l => !assigned.ContainsKey(l.Lead.Id)).ToList();
        if (fresh.Count == 0)
        {
            return new AssignmentOutcome(assigned, null);
        }

        Team? team = null;
        if (fresh.Any(l => l.Request.Assignment!.Responsible is not null))
        {
            (team, var failure) = await directory.TeamAsync(account, cancellationToken);
            if (failure is not null)
            {
                return new AssignmentOutcome(assigned, failure);
            }
        }

        TimeZoneInfo? zone = null;
        if (fresh.Any(l => l.Request.Assignment!.Task is { Hours: not null }))
        {
            (zone, var failure) = await directory.ZoneAsync(account, cancellationToken);
            if (failure is not null)
            {
                return new AssignmentOutcome(assigned, failure);
            }
        }

        var plans = fresh.Select(l => Plan(l.Lead, l.Request, team, zone ?? TimeZoneInfo.Utc, stored.GetValueOrDefault(l.Lead.Id))).ToList();
        if (await store.SaveAsync(account, fresh[0].Lead.ClaimToken, plans, cancellationToken) is not { } chosen)
        {
            // The claim ran out and another worker picks for these; this batch's send will be withdrawn.
            return new AssignmentOutcome(assigned, null);
        }

        foreach (var (id, user) in chosen)
        {
            assigned[id] = user;
        }

        return new AssignmentOutcome(assigned, null);
    }

    private static PlannedAssignment Plan(ClaimedLead lead, UnsortedLeadRequest request, Team? team, TimeZoneInfo zone, StoredAssignment? stored)
    {
        var (user, counter, candidates, reason) = Choose(request, team, stored?.ContactResponsibleUserId);
        string? spec = null;
        DateTimeOffset? due = null;
        if (request.Assignment!.Task is { } task)
        {
            due = TaskDue.Compute(lead.CreatedAt, task.DueMinutes, task.Hours, zone);
            spec = TaskSpec.Write(AssignmentSettings.Render(task.Text, request), task);
        }

        return new PlannedAssignment(lead.Id, user, counter, candidates, reason, spec, due);
    }

    private static (long? User, string? Counter, IReadOnlyList<long> Candidates, string Reason) Choose(UnsortedLeadRequest request, Team? team, long? contactResponsible)
    {
        if (request.Assignment!.Responsible is not { } settings || team is null)
        {
            return (null, null, [], "no responsible user asked for");
        }

        if (settings.Sticky && contactResponsible is { } owner && team.IsActive(owner))
        {
            return (owner, null, [], "sticky: the linked contact's responsible user");
        }

        var index = settings.Rules.ToList().FindIndex(r => r.When.Matches(request));
        var choice = index >= 0 ? settings.Rules[index].Choice : settings.Choice;
        var by = index >= 0 ? "rule " + index.ToString(CultureInfo.InvariantCulture) + ": " : "";
        if (choice is null)
        {
            return (null, null, [], "no rule matched and no user_id, round_robin or group_id: amoCRM picks");
        }

        if (choice.UserId is { } fixedUser)
        {
            return team.IsActive(fixedUser) ? (fixedUser, null, [], by + "user_id") : (null, null, [], by + "user_id " + fixedUser.ToString(CultureInfo.InvariantCulture) + " is not active: " + NoneActive);
        }

        var candidates = choice.RoundRobin is { } list ? team.ActiveOf(list) : team.ActiveInGroup(choice.GroupId!.Value);
        var what = choice.RoundRobin is not null ? "round_robin" : "group_id " + choice.GroupId!.Value.ToString(CultureInfo.InvariantCulture);
        return candidates.Count == 0 ? (null, null, [], by + what + ": " + NoneActive) : (null, choice.CounterKey, candidates, by + what);
    }
}

// A follow-up task as stored on its lead's row (sealed: the text holds the contact's name and phone): the rendered text
// and what its deadline is made of, so a send after the first deadline passed computes a new one by the same rule.
internal sealed record TaskSpec(string Text, int DueMinutes, WorkingHours? Hours, long TaskTypeId)
{
    public static string Write(string text, TaskSettings task)
    {
        var spec = new JsonObject { ["text"] = text, ["due_minutes"] = task.DueMinutes, ["task_type_id"] = task.TaskTypeId };
        if (task.Hours is { } hours)
        {
            spec["working_hours"] = new JsonObject
            {
                ["days"] = new JsonArray([.. hours.Days.Order().Select(d => (JsonNode)d)]),
                ["from"] = hours.From.ToString(@"hh\:mm", CultureInfo.InvariantCulture),
                ["to"] = hours.To.TotalHours >= 24 ? "24:00" : hours.To.ToString(@"hh\:mm", CultureInfo.InvariantCulture),
            };
        }

        return spec.ToJsonString();
    }

    public static TaskSpec? Read(string stored)
    {
        if (AmoJson.TryParseObject(stored) is not { } spec || AmoJson.Text(spec["text"]) is not { Length: > 0 } text)
        {
            return null;
        }

        WorkingHours? hours = null;
        if (spec["working_hours"] is JsonObject h)
        {
            var errors = new Dictionary<string, string>();
            // Re-read through the settings' own parser: one definition of what working hours are.
            var parsed = AssignmentSettings.Parse(new JsonObject { ["task"] = new JsonObject { ["text"] = "x", ["working_hours"] = h.DeepClone() } }, errors);
            hours = parsed?.Task?.Hours;
        }

        return new TaskSpec(text, (int)(AmoJson.Long(spec["due_minutes"]) ?? 30), hours, AmoJson.Long(spec["task_type_id"]) ?? 1);
    }
}
