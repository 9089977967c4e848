using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Amo;

namespace Gateway.Outbox;

// Failure: the look itself failed (amoCRM still unwell): nothing may be sent. Found: source_uid → the unsorted item.
internal sealed record LeadLookup(AmoResult? Failure, IReadOnlyDictionary<string, JsonObject> Found, int Calls);

// Found: the outbox row id → the id amoCRM gave the note.
internal sealed record NoteLookup(AmoResult? Failure, IReadOnlyDictionary<long, long> Found, int Calls);

// Before an item whose earlier send went out without an answer is sent again, amoCRM is asked whether it has it:
// nothing makes unsorted creation idempotent, so a blind resend after a lost answer is a duplicate lead. The calls are
// delivery's (same pacing, same turn) and are only made for items that carry the "sent, outcome unknown" mark.
internal sealed partial class LostAnswerLookup(AmoClient amo, ILogger<LostAnswerLookup> logger)
{
    // Each item carries our own created_at, which amoCRM lists back; should it stamp its own clock instead, this much
    // difference between the two clocks is still covered.
    internal static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(2);

    // 250 a page: 10,000 items still waiting in the unsorted list is far more than any account leaves unprocessed.
    private const int MaxPages = 40;

    // Notes are listed for this many leads per call (the ids go into the query string).
    private const int LeadsPerNoteListing = 50;

    // The unsorted list, newest first, back to the oldest marked lead's own created_at (less the skew); matched by
    // source_uid, which the gateway sets to the lead's own id. Items a manager accepted or declined meanwhile have left
    // the list and are not found: that is the remaining gap, counted by the caller.
    public async Task<LeadLookup> FindLeadsAsync(string account, IReadOnlyList<ClaimedLead> marked)
    {
        var wanted = marked.Select(l => l.SourceUid).ToHashSet(StringComparer.Ordinal);
        // A lead only lapsed (a claim of it ran out) may have been sent from that claim on.
        var since = marked.Min(l => (l.UnconfirmedSince ?? l.LapsedSince) is { } sent && sent < l.CreatedAt ? sent : l.CreatedAt) - ClockSkew;
        var found = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        string? next = "api/v4/leads/unsorted?order[created_at]=desc&filter[category][]=forms&limit=250&page=1";
        var calls = 0;
        while (next is not null && found.Count < wanted.Count)
        {
            if (calls == MaxPages)
            {
                LogLookupCut(account, calls, wanted.Count - found.Count);
                break;
            }

            var result = await amo.GetAsync(account, next, new AmoPriority(AmoCallClass.Delivery), CancellationToken.None);
            calls++;
            if (!result.Ok)
            {
                return new LeadLookup(result, found, calls);
            }

            var items = (result.Body?["_embedded"]?["unsorted"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            foreach (var item in items)
            {
                if (AmoJson.Text(item["source_uid"]) is { } sourceUid && wanted.Contains(sourceUid))
                {
                    found.TryAdd(sourceUid, item);
                }
            }

            var oldest = items.Select(i => AmoJson.Long(i["created_at"])).Min();
            next = items.Count == 0 || oldest is null || oldest < since.ToUnixTimeSeconds() ? null : NextLink(result.Body);
        }

        return new LeadLookup(null, found, calls);
    }

    // The notes of the marked notes' leads; a note is ours when its text is the one we sent (amoCRM keeps no request_id,
    // and a lead the gateway just created carries no other note with that text).
    public async Task<NoteLookup> FindNotesAsync(string account, IReadOnlyList<ClaimedNote> marked)
    {
        var found = new Dictionary<long, long>();
        var calls = 0;
        foreach (var chunk in marked.Chunk(LeadsPerNoteListing))
        {
            var query = new StringBuilder("api/v4/leads/notes?filter[note_type][]=common");
            foreach (var leadId in chunk.Select(n => n.AmoLeadId).Distinct())
            {
                query.Append("&filter[entity_id][]=").Append(leadId.ToString(CultureInfo.InvariantCulture));
            }

            string? next = query.Append("&limit=250&page=1").ToString();
            var listed = new List<JsonObject>();
            while (next is not null)
            {
                if (calls == MaxPages)
                {
                    LogLookupCut(account, calls, marked.Count - found.Count);
                    return new NoteLookup(null, found, calls);
                }

                var result = await amo.GetAsync(account, next, new AmoPriority(AmoCallClass.Delivery), CancellationToken.None);
                calls++;
                if (!result.Ok)
                {
                    return new NoteLookup(result, found, calls);
                }

                listed.AddRange((result.Body?["_embedded"]?["notes"] as JsonArray ?? []).OfType<JsonObject>());
                next = result.Body is null ? null : NextLink(result.Body);
            }

            foreach (var note in chunk)
            {
                var match = listed.FirstOrDefault(n => AmoJson.Long(n["entity_id"]) == note.AmoLeadId && SameText(AmoJson.Text(n["params"]?["text"]), note.NoteText));
                if (AmoJson.Long(match?["id"]) is { } noteId)
                {
                    found[note.Id] = noteId;
                }
            }
        }

        return new NoteLookup(null, found, calls);
    }

    // amoCRM may store line breaks and surrounding blanks its own way.
    private static bool SameText(string? listed, string sent) =>
        listed is not null && string.Equals(Normalize(listed), Normalize(sent), StringComparison.Ordinal);

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();

    private static string? NextLink(JsonNode? body)
    {
        if (AmoJson.Text(body?["_links"]?["next"]?["href"]) is not { } href)
        {
            return null;
        }

        // amoCRM's links are absolute on the account host; only the path and query are ours to follow.
        return Uri.TryCreate(href, UriKind.Absolute, out var uri) ? uri.PathAndQuery : href;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The look for lost answers of {Account} stopped after {Calls} pages; {Count} items not found there will be sent again")]
    private partial void LogLookupCut(string account, int calls, int count);
}
