using Gateway.Amo;

namespace Gateway.AdminConsole;

// The account's time zone as amoCRM keeps it (GET /api/v4/account?with=datetime_settings, from the info cache): the
// console shows every time in it. Null when amoCRM cannot be asked now; the page then uses the browser's own zone.
internal sealed class AccountTimeZones(AmoInfoCache info, TimeProvider time)
{
    // A page must not hang on an account that is down or not connected yet.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(2);

    public async Task<string?> ZoneOfAsync(string account, CancellationToken cancellationToken)
    {
        using var patience = new CancellationTokenSource(Patience, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, patience.Token);
        AmoResult settings;
        try
        {
            settings = await info.DateTimeSettingsAsync(account, AmoCallClass.Lookup, either.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        var zone = settings.Ok ? AmoJson.Text(settings.Body?["_embedded"]?["datetime_settings"]?["timezone"]) : null;

        // Only names a browser's Intl knows are worth handing on (amoCRM's are IANA names).
        return zone is { Length: > 0 and < 64 } && TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _) ? zone : null;
    }
}
