using System.Text.Json.Nodes;
using Gateway.Amo;

namespace Gateway.Outbox;

// The outbox carries leads without knowing their shape: the Leads room turns claimed payloads into amoCRM items.
// An interface only because it points the other way: Leads depends on the outbox, never the outbox on Leads.
internal interface ILeadComposer
{
    Task<ComposedLeads> ComposeAsync(string account, IReadOnlyList<ClaimedLead> leads, CancellationToken cancellationToken);
}

internal sealed record ComposedLead(ClaimedLead Lead, JsonObject Item, string? NoteText);

// Unreadable: payloads that no longer validate (they fail). LookupFailed: amoCRM could not tell what the readable ones
// need (their tracking fields), so those go back to the queue. Otherwise Ready holds one item per readable lead.
internal sealed record ComposedLeads(
    IReadOnlyList<(ClaimedLead Lead, string Reason)> Unreadable,
    IReadOnlyList<ClaimedLead> Readable,
    AmoResult? LookupFailed,
    IReadOnlyList<ComposedLead> Ready);
