using System.Data.Common;
using System.Text.Json.Nodes;
using Gateway.Data;

namespace Gateway.Outbox;

// A lead-mode lead's recorded steps: whether its contact step (search or cache) is done, which contact it found (none:
// a new contact goes with the lead), that contact's responsible user, and the amoCRM lead it went to (the created one,
// or the open lead a note_open_lead submission was noted on). StepsJson lists every step with its time and outcome.
internal sealed record DirectSteps(bool ContactResolved, long? LinkedContactId, long? ContactResponsibleUserId, long? TargetLeadId, string? StepsJson)
{
    public const string Columns = "delivery_steps, contact_resolved, linked_contact_id, contact_responsible_user_id, target_lead_id";

    public static DirectSteps None { get; } = new(false, null, null, null, null);

    public JsonArray List => StepsJson is { } json && JsonNode.Parse(json) is JsonArray list ? list : [];

    public static DirectSteps Read(DbDataReader reader) => new(
        reader.Int64("contact_resolved") != 0,
        reader.Int64OrNull("linked_contact_id"),
        reader.Int64OrNull("contact_responsible_user_id"),
        reader.Int64OrNull("target_lead_id"),
        reader.StringOrNull("delivery_steps"));

    public string With(JsonObject step)
    {
        var list = List;
        list.Add((JsonNode)step);
        return list.ToJsonString();
    }
}

// The steps' writes. Each names the claim it acts under, so a worker whose lease ran out cannot record over the next one.
internal sealed class DirectStepStore(Database database, TimeProvider time)
{
    public async Task<ClaimedLead> RecordContactAsync(ClaimedLead lead, long? contactId, long? responsibleUserId, long? targetLeadId, JsonObject step, CancellationToken cancellationToken)
    {
        var steps = new DirectSteps(true, contactId, responsibleUserId, targetLeadId, lead.Steps.With(Stamp(step)));
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            """
            UPDATE leads SET contact_resolved = 1, linked_contact_id = @contact, contact_responsible_user_id = @responsible,
                target_lead_id = @target, delivery_steps = @steps, updated_at = @now
            WHERE id = @id AND claim_token = @token
            """,
            null,
            [("contact", contactId), ("responsible", responsibleUserId), ("target", targetLeadId), ("steps", steps.StepsJson), ("now", time.GetUtcNow()), ("id", lead.Id), ("token", lead.ClaimToken)],
            cancellationToken);
        return lead with { Steps = steps };
    }

    // The found contact is gone (merged or deleted): the contact step is done again on the next claim.
    public async Task ForgetContactAsync(ClaimedLead lead, JsonObject step, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            """
            UPDATE leads SET contact_resolved = 0, linked_contact_id = NULL, contact_responsible_user_id = NULL, target_lead_id = NULL,
                delivery_steps = @steps, updated_at = @now
            WHERE id = @id AND claim_token = @token
            """,
            null,
            [("steps", lead.Steps.With(Stamp(step))), ("now", time.GetUtcNow()), ("id", lead.Id), ("token", lead.ClaimToken)],
            cancellationToken);
    }

    // After the settle (the lead is delivered and no longer claimed): the created or noted lead and the step that did it.
    public async Task RecordTargetAsync(long id, string steps, long? targetLeadId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            "UPDATE leads SET target_lead_id = COALESCE(@target, target_lead_id), delivery_steps = @steps WHERE id = @id",
            null,
            [("target", targetLeadId), ("steps", steps), ("id", id)],
            cancellationToken);
    }

    // Like LeadStore.RenewClaimAsync, for some rows of a claim: the lead-mode ones about to go out in one leads/complex.
    public async Task<bool> RenewAsync(string claimToken, IReadOnlyList<long> ids, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var now = time.GetUtcNow();
        var renewed = 0;
        foreach (var id in ids)
        {
            renewed += await Sql.ExecuteAsync(
                connection,
                "UPDATE leads SET lease_until = @until, unconfirmed_since = COALESCE(unconfirmed_since, @now) WHERE id = @id AND claim_token = @claimToken AND status = @delivering",
                null,
                [("until", now + lease), ("now", now), ("id", id), ("claimToken", claimToken), ("delivering", LeadStatus.Delivering)],
                cancellationToken);
        }

        return renewed == ids.Count;
    }

    public JsonObject Stamp(JsonObject step)
    {
        step["at"] ??= time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return step;
    }
}
