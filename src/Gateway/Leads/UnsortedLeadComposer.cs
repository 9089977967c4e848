using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Outbox;

namespace Gateway.Leads;

// A stored payload becomes an unsorted-form item: validated again (the rules may have changed since it was stored),
// with the account's UTM tracking fields looked up only when some lead carries UTM.
internal sealed class UnsortedLeadComposer(AmoInfoCache info) : ILeadComposer
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
        IReadOnlyDictionary<string, long> tracking = new Dictionary<string, long>();
        if (requests.Any(r => r.Request.Utm.Count > 0))
        {
            var fields = await info.LeadFieldsAsync(account, AmoCallClass.Delivery, cancellationToken);
            if (!fields.Ok)
            {
                return new ComposedLeads(unreadable, readable, fields, []);
            }

            tracking = LeadFields.TrackingFieldIds(fields.Body);
        }

        var ready = requests.Select(r =>
        {
            var mapped = AmoLeadMapper.Map(r.Request, r.Lead.SourceUid, tracking, r.Lead.CreatedAt, r.Lead.CallerIp);
            return new ComposedLead(r.Lead, mapped.Item, mapped.NoteText);
        }).ToList();
        return new ComposedLeads(unreadable, readable, null, ready);
    }
}
