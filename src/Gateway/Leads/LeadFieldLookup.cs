using System.Text.Json.Nodes;
using Gateway.Amo;

namespace Gateway.Leads;

// What a mapping needs of the account: the lead fields (custom fields or UTM), the contact fields, and the time zone
// when a date was written without an offset. Each comes from the info cache, asked only when some lead needs it.
internal sealed class LeadFieldLookup(AmoInfoCache info, TimeProvider time)
{
    // How long an intake waits for a field list it does not have yet; past it the lead is taken and its fields are
    // made right at delivery (a busy or unwell amoCRM must not make a landing page wait, nor refuse its lead).
    public static readonly TimeSpan IntakeWait = TimeSpan.FromSeconds(2);

    public sealed record Lookup(LeadFieldContext Context, AmoResult? Failed);

    // A field, option or value that cannot be made valid, by detail key — when the account's lists can be had now.
    public async Task<IReadOnlyDictionary<string, string>> ProblemsAtIntakeAsync(string account, UnsortedLeadRequest request, CancellationToken requestAborted)
    {
        if (!request.HasCustomFields)
        {
            return new Dictionary<string, string>();
        }

        using var bounded = new CancellationTokenSource(IntakeWait, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(bounded.Token, requestAborted);
        Lookup fields;
        try
        {
            fields = await ForAsync(account, [request], AmoCallClass.Lookup, linked.Token);
        }
        catch (OperationCanceledException) when (bounded.IsCancellationRequested && !requestAborted.IsCancellationRequested)
        {
            return new Dictionary<string, string>();
        }

        // Without the lists nothing can be said now; the time zone only moves a date, it never makes one invalid.
        if (fields.Failed is not null && !(fields.Context.Lead.IsKnown || fields.Context.Contact.IsKnown))
        {
            return new Dictionary<string, string>();
        }

        return AmoLeadMapper.Map(request, "intake", fields.Context, time.GetUtcNow(), null).Problems;
    }

    // When one list cannot be had, Failed says why and the context holds what was had before it.
    public async Task<Lookup> ForAsync(string account, IReadOnlyCollection<UnsortedLeadRequest> requests, AmoCallClass callClass, CancellationToken cancellationToken)
    {
        var lead = AmoFieldCatalog.Unknown;
        if (requests.Any(r => r.Lead.CustomFields.Count > 0 || r.Utm.Count > 0))
        {
            var fields = await info.LeadFieldsAsync(account, callClass, cancellationToken);
            if (!fields.Ok)
            {
                return new Lookup(LeadFieldContext.None, fields);
            }

            lead = AmoFieldCatalog.From(fields.Body);
        }

        var contact = AmoFieldCatalog.Unknown;
        if (requests.Any(r => r.Contact.CustomFields.Count > 0))
        {
            var fields = await info.ContactFieldsAsync(account, callClass, cancellationToken);
            if (!fields.Ok)
            {
                return new Lookup(new LeadFieldContext(lead, contact, null), fields);
            }

            contact = AmoFieldCatalog.From(fields.Body);
        }

        TimeZoneInfo? zone = null;
        if (requests.Any(r => NeedsTimeZone(r.Lead.CustomFields, lead) || NeedsTimeZone(r.Contact.CustomFields, contact)))
        {
            var settings = await info.DateTimeSettingsAsync(account, callClass, cancellationToken);
            if (!settings.Ok)
            {
                return new Lookup(new LeadFieldContext(lead, contact, null), settings);
            }

            zone = ZoneOf(settings.Body);
        }

        return new Lookup(new LeadFieldContext(lead, contact, zone), null);
    }

    private static bool NeedsTimeZone(IReadOnlyList<CustomFieldInput> inputs, AmoFieldCatalog catalog) =>
        catalog.IsKnown && inputs.Any(input => catalog.Resolve(input).Field is { } field && FieldValues.NeedsTimeZone(field, input));

    // The account's IANA zone when this machine knows it, else its fixed offset (amoCRM gives both), else UTC.
    internal static TimeZoneInfo ZoneOf(JsonNode? account)
    {
        var settings = account?["_embedded"]?["datetime_settings"];
        if (AmoJson.Text(settings?["timezone"]) is { Length: > 0 } id && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone))
        {
            return zone;
        }

        if (AmoJson.Text(settings?["timezone_offset"]) is { Length: 6 } offset
            && TimeSpan.TryParseExact(offset[1..], @"hh\:mm", System.Globalization.CultureInfo.InvariantCulture, out var span))
        {
            var utcOffset = offset[0] == '-' ? -span : span;
            return TimeZoneInfo.CreateCustomTimeZone("amoCRM " + offset, utcOffset, "amoCRM " + offset, "amoCRM " + offset);
        }

        return TimeZoneInfo.Utc;
    }
}
