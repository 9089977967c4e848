using Gateway.Hosting;
using Gateway.Observability;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// Who may scrape /metrics: an admin session, an admin key (X-API-KEY or Bearer: API_KEY or a keys-file key with scope admin) or METRICS_TOKEN (Bearer).
internal sealed class MetricsCredential(IOptions<ObservabilityOptions> observability, ApiKeyRing keys, BadKeyTracker badKeys)
{
    private readonly byte[]? metricsToken = observability.Value.MetricsToken is { } token ? ApiKeyRing.Hash(token) : null;

    public bool Admits(HttpContext context)
    {
        // Authentication has already judged X-API-KEY or the session cookie (in constant time).
        if (Scopes.IsAdmin(context))
        {
            return true;
        }

        if (Bearer(context.Request) is not { } bearer)
        {
            return false;
        }

        // Hashing first makes every comparison constant-time whatever the lengths; both are always made.
        var hash = ApiKeyRing.Hash(bearer);
        var isMetricsToken = metricsToken is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(hash, metricsToken);
        var key = keys.FindByHash(hash);
        if (isMetricsToken || key is { IsAdmin: true })
        {
            return true;
        }

        // A bearer that is no key at all is a guess, as a wrong X-API-KEY is on any route; a wrong X-API-KEY in the same
        // request was already counted by the limiter, and a real key without the right to scrape is no guess.
        if (!ApiKeyCaller.WasRejected(context) && key is null)
        {
            badKeys.RecordFailure(ApiKeyCaller.ClientBucket(context));
        }

        return false;
    }

    private static string? Bearer(HttpRequest request)
    {
        var authorization = request.Headers.Authorization;
        return authorization.Count == 1 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && value[7..].Trim() is { Length: > 0 } bearer ? bearer : null;
    }
}
