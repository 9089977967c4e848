using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Outbox;

namespace Gateway.Leads;

// A stored payload becomes an unsorted-form item: validated again (the rules may have changed since it was stored),
// with the account's fields (and time zone) looked up only when some lead needs them. A field that cannot be made
// valid here goes into the lead's note: the lead itself is delivered.
internal sealed class UnsortedLeadComposer(LeadFieldLookup lookup, Contacts.LeadAssigner assigner) : ILeadComposer
{
    public async Task<ComposedLeads> ComposeAsync(string account, IReadOnlyList<ClaimedLead> leads, CancellationToken cancellationToken)
    {
        var requests = new List<(ClaimedLead Lead, UnsortedLeadRequest Request)>();
        var unreadable = new List<(ClaimedLead Lead, string Reason)>();
        foreach (var lead in leads)
        {
            if (lead.Unreadable is { } problem)
            {
                unreadable.Add((lead, problem));
                continue;
            }

            var errors = new Dictionary<string, string>();
            if (UnsortedLeadRequest.Parse(JsonNode.Parse(lead.Payload), errors) is { } request)
            {
                requests.Add((lead, request));
            }
            else
            {
                unreadable.Add((lead, string.Join("; ", errors.Values)));
            }
        }

        var readable = requests.Select(r => r.Lead).ToList();
        var fields = await lookup.ForAsync(account, requests.Select(r => r.Request).ToList(), AmoCallClass.Delivery, cancellationToken);
        if (fields.Failed is { } failed)
        {
            return new ComposedLeads(unreadable, readable, failed, []);
        }

        // The responsible user is picked (and stored) before the first send; a resend finds the stored pick.
        var assignment = await assigner.AssignAsync(account, requests, cancellationToken);
        if (assignment.Failure is { } lookupFailed)
        {
            return new ComposedLeads(unreadable, readable, lookupFailed, []);
        }

        var ready = requests.Select(r =>
        {
            var mapped = AmoLeadMapper.Map(r.Request, r.Lead.SourceUid, fields.Context, r.Lead.CreatedAt, r.Lead.CallerIp);
            if (assignment.Assigned.GetValueOrDefault(r.Lead.Id) is { } responsible && mapped.Item["_embedded"]?["leads"]?[0] is JsonObject amoLead)
            {
                amoLead["responsible_user_id"] = responsible;
            }

            var delivery = r.Request.DeliveryOrDefault;
            return delivery.IsDirect
                ? new ComposedLead(r.Lead, DirectItem(mapped.Item, delivery, r.Lead.SourceUid), mapped.NoteText, new DirectLead(
                    delivery.Contacts, delivery.PipelineId, r.Request.Contact.Phone is { } phone && phone.StartsWith('+') ? phone : null, r.Request.Contact.Email,
                    r.Request.Lead.Name, SubmissionNote(r.Request, mapped.NoteText), AwaitsContact: Contacts.LeadAssigner.AwaitsContact(r.Lead, r.Request)))
                : new ComposedLead(r.Lead, mapped.Item, mapped.NoteText);
        }).ToList();
        return new ComposedLeads(unreadable, readable, null, ready);
    }

    // The unsorted form's lead, in the chosen pipeline and status, with its new contact embedded (the sender swaps in
    // {"id":N} when it links a found one). request_id is the source uid, as for unsorted items.
    private static JsonObject DirectItem(JsonObject unsorted, Contacts.DeliverySettings delivery, string sourceUid)
    {
        var lead = (JsonObject)unsorted["_embedded"]!["leads"]![0]!.DeepClone();
        lead["request_id"] = sourceUid;
        if ((delivery.PipelineId ?? AmoJson.Long(unsorted["pipeline_id"])) is { } pipeline)
        {
            lead["pipeline_id"] = pipeline;
        }

        if (delivery.StatusId is { } status)
        {
            lead["status_id"] = status;
        }

        var embedded = lead["_embedded"] as JsonObject ?? [];
        if (unsorted["_embedded"]?["contacts"]?[0] is JsonObject contact)
        {
            embedded["contacts"] = new JsonArray(contact.DeepClone());
        }

        lead["_embedded"] = embedded;
        return lead;
    }

    // What a note on someone's open lead says instead of a new lead: who wrote, how to reach them, what they sent.
    private static string SubmissionNote(UnsortedLeadRequest request, string? noteText)
    {
        var lines = new List<string> { "New request: " + request.Lead.Name };
        void Add(string label, string? value)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                lines.Add(label + ": " + value);
            }
        }

        Add("Form", request.FormName);
        Add("Page", request.FormPage);
        Add("Name", request.Contact.Name);
        Add("Phone", request.Contact.Phone);
        Add("Email", request.Contact.Email);
        if (request.Lead.Price is { } price)
        {
            lines.Add("Price: " + price.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (noteText is { Length: > 0 })
        {
            lines.Add("");
            lines.Add(noteText);
        }

        return string.Join('\n', lines);
    }
}
