using System.Text.Json.Nodes;
using Gateway.Amo;

namespace Gateway.Outbox;

// The outbox carries leads without knowing their shape: the Leads room turns claimed payloads into amoCRM items.
// An interface only because it points the other way: Leads depends on the outbox, never the outbox on Leads.
internal interface ILeadComposer
{
    Task<ComposedLeads> ComposeAsync(string account, IReadOnlyList<ClaimedLead> leads, CancellationToken cancellationToken);
}

// Direct: a lead-mode lead (Item is then a leads/complex item with its new contact embedded), else null (Item is an unsorted form).
internal sealed record ComposedLead(ClaimedLead Lead, JsonObject Item, string? NoteText, DirectLead? Direct = null);

// What the lead-mode sender needs beyond the item: the contact policy and matching keys (Phone as E.164 or null),
// the pipeline an open lead is looked for in, and the submission as a note's text for note_open_lead.
// ResponsibleUserId: the seam for choosing the lead's manager before the create (null: amoCRM's default); a sticky rule
// reads the found contact's from ClaimedLead.Steps.ContactResponsibleUserId once the contact step is done.
// AwaitsContact: a sticky manager is wanted and the contact step has not run yet (Contacts.LeadAssigner.AwaitsContact).
internal sealed record DirectLead(string Contacts, long? PipelineId, string? Phone, string? Email, string Name, string SubmissionNote, long? ResponsibleUserId = null, bool AwaitsContact = false);

// Sends lead-mode leads (search → create/link → note): the Contacts room does it; the outbox applies the plans.
internal interface IDirectLeadSender
{
    Task<DirectOutcome> SendAsync(string account, IReadOnlyList<ComposedLead> leads, CancellationToken cancellationToken);
}

// Plans in order; Steps: what to write on each settled lead's row afterwards (its steps and target lead).
internal sealed record DirectOutcome(IReadOnlyList<LeadPlan> Plans, IReadOnlyList<(long Id, string Steps, long? TargetLeadId)> Steps);

// Unreadable: payloads that no longer validate (they fail). LookupFailed: amoCRM could not tell what the readable ones
// need (their tracking fields), so those go back to the queue. Otherwise Ready holds one item per readable lead.
internal sealed record ComposedLeads(
    IReadOnlyList<(ClaimedLead Lead, string Reason)> Unreadable,
    IReadOnlyList<ClaimedLead> Readable,
    AmoResult? LookupFailed,
    IReadOnlyList<ComposedLead> Ready);
