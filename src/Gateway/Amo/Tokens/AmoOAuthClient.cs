using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Accounts;
using Gateway.Amo.Pacing;
using Microsoft.Extensions.Options;

namespace Gateway.Amo.Tokens;

internal enum TokenCallOutcome
{
    Success,
    Rejected,       // amoCRM answered and said no: revoked token, wrong client, bad code
    Transient,      // amoCRM answered with 429/5xx/HTML: nothing was consumed
    NotSent,        // no connection was made: safe to try again later
    AnswerLost,     // the request may have reached amoCRM, the answer did not reach us
    HostRefused,    // never sent: the host came from data and is no account host; only a new consent mends it
}

// Which amoCRM account a token belongs to, as its own /api/v4/account says.
internal sealed record AccountIdentity(long Id, string Subdomain);

internal sealed record AccountCheckResult(AccountIdentity? Account, int? HttpStatus, string Description)
{
    public bool Ok => Account is not null;
}

internal sealed record TokenCallResult(TokenCallOutcome Outcome, TokenPair? Pair, int? HttpStatus, string Description)
{
    public string OutcomeName => Outcome switch
    {
        TokenCallOutcome.Success => "ok",
        TokenCallOutcome.Rejected => "rejected",
        TokenCallOutcome.Transient => "transient_error",
        TokenCallOutcome.NotSent => "unreachable",
        TokenCallOutcome.HostRefused => "host_refused",
        _ => "answer_lost",
    };
}

// The token endpoint: never retried here; callers decide from what is stored.
internal sealed class AmoOAuthClient(HttpClient http, IOptions<AmoOptions> options, AccountRegistry registry, AmoRateLimiter limiter, TimeProvider time)
{
    public Task<TokenCallResult> ExchangeCodeAsync(string account, string? baseDomain, string code, CancellationToken cancellationToken) =>
        CallAsync(account, baseDomain, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
        }, pace: true, AmoCallClass.Lookup, cancellationToken);

    // alreadyPaced: the caller took the rate-limit slot itself, before marking the refresh as started.
    public Task<TokenCallResult> RefreshAsync(string account, string? baseDomain, string refreshToken, bool alreadyPaced, CancellationToken cancellationToken) =>
        CallAsync(account, baseDomain, new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
        }, pace: !alreadyPaced, AmoCallClass.Delivery, cancellationToken);

    // GET /api/v4/account with this very token (not the stored one), at the host the token is for.
    public async Task<AccountCheckResult> ReadAccountAsync(string account, string? baseDomain, string accessToken, CancellationToken cancellationToken)
    {
        var amo = options.Value;
        if (registry.Find(account) is not { } configured)
        {
            return new AccountCheckResult(null, null, $"{account} is not a configured account");
        }

        if (configured.ApiBaseFor(baseDomain) is not { } apiBase)
        {
            return new AccountCheckResult(null, null, AmoHosts.Refusal(baseDomain, configured.BaseUrl)!);
        }

        // Part of a consent (or of learning an imported token's account): a lookup, like the code exchange.
        await using var slot = await limiter.AcquireAsync(account, AmoCallClass.Lookup, cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(amo.RequestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(apiBase, "/api/v4/account"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            var status = (int)response.StatusCode;
            var json = AmoJson.TryParseObject(text);
            if (!response.IsSuccessStatusCode)
            {
                return new AccountCheckResult(null, status, json is null ? $"amoCRM answered {status}" : AmoJson.DescribeProblem(json) is { Length: > 0 } problem ? problem : $"amoCRM answered {status}");
            }

            return AmoJson.Long(json?["id"]) is { } id && AmoJson.Text(json!["subdomain"]) is { Length: > 0 } subdomain
                ? new AccountCheckResult(new AccountIdentity(id, subdomain), status, "ok")
                : new AccountCheckResult(null, status, "amoCRM's account answer carries no id and subdomain");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return new AccountCheckResult(null, null, "amoCRM could not be reached");
        }
    }

    // A consent's code exchange is a lookup (it keeps to the lookups' share while leads are queued); a refresh is not.
    private async Task<TokenCallResult> CallAsync(string account, string? baseDomain, Dictionary<string, string> body, bool pace, AmoCallClass callClass, CancellationToken cancellationToken)
    {
        var amo = options.Value;
        if (registry.Find(account) is not { } configured)
        {
            return new TokenCallResult(TokenCallOutcome.HostRefused, null, null, $"not sent: {account} is not a configured account");
        }

        // Checked before the secret joins the body: a foreign host gets no connection at all.
        if (configured.ApiBaseFor(baseDomain) is not { } apiBase)
        {
            return new TokenCallResult(TokenCallOutcome.HostRefused, null, null, $"not sent: {AmoHosts.Refusal(baseDomain, configured.BaseUrl)}");
        }

        body["client_id"] = configured.ClientId;
        body["client_secret"] = configured.ClientSecret;
        body["redirect_uri"] = configured.RedirectUri;
        var uri = new Uri(apiBase, "/oauth2/access_token");

        await using var slot = pace ? await limiter.AcquireAsync(account, callClass, cancellationToken) : null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(amo.RequestTimeout);
        using var content = new SendTrackingContent(JsonSerializer.SerializeToUtf8Bytes(body, OAuthJson.Default.DictionaryStringString));
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync(uri, content, timeout.Token);
        }
        catch (Exception ex) when ((ex is HttpRequestException or OperationCanceledException or IOException) && !content.Started)
        {
            return new TokenCallResult(TokenCallOutcome.NotSent, null, null, "amoCRM could not be reached");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return new TokenCallResult(TokenCallOutcome.AnswerLost, null, null, "the request was sent but no answer arrived");
        }

        using (response)
        {
            string text;
            try
            {
                text = await response.Content.ReadAsStringAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                return new TokenCallResult(TokenCallOutcome.AnswerLost, null, (int)response.StatusCode, "the answer broke off before it was complete");
            }

            var json = AmoJson.TryParseObject(text);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                if (AmoJson.Text(json?["access_token"]) is { Length: > 0 } access && json!["expires_in"] is JsonValue expiresIn && expiresIn.TryGetValue<long>(out var seconds))
                {
                    // Both grants must hand over a refresh token; after a refresh the old one is spent, so the pair is as good as lost.
                    if (AmoJson.Text(json["refresh_token"]) is not { Length: > 0 } refresh)
                    {
                        return new TokenCallResult(TokenCallOutcome.AnswerLost, null, status, "amoCRM answered 2xx without a refresh token");
                    }

                    return new TokenCallResult(TokenCallOutcome.Success, new TokenPair(access, refresh, time.GetUtcNow().AddSeconds(seconds), baseDomain), status, "ok");
                }

                // A 2xx we cannot read may still have rotated the pair: as good as lost.
                return new TokenCallResult(TokenCallOutcome.AnswerLost, null, status, "amoCRM answered 2xx without a readable token");
            }

            var description = Describe(json, status);
            return status is 400 or 401
                ? new TokenCallResult(TokenCallOutcome.Rejected, null, status, description)
                : new TokenCallResult(TokenCallOutcome.Transient, null, status, description);
        }
    }

    private static string Describe(JsonObject? problem, int status)
    {
        if (problem is null)
        {
            return status switch
            {
                (int)HttpStatusCode.Forbidden => "amoCRM answered 403 (account or IP blocked)",
                (int)HttpStatusCode.TooManyRequests => "amoCRM answered 429 (rate limit)",
                _ => $"amoCRM answered {status}",
            };
        }

        return AmoJson.DescribeProblem(problem);
    }

    // Knows whether the body began to leave: a failure before that (no connection yet) cannot have spent a token.
    private sealed class SendTrackingContent : HttpContent
    {
        private readonly byte[] bytes;
        private int started;

        public SendTrackingContent(byte[] bytes)
        {
            this.bytes = bytes;
            Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        public bool Started => Volatile.Read(ref started) != 0;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            Volatile.Write(ref started, 1);
            return stream.WriteAsync(bytes, cancellationToken).AsTask();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}

// amoCRM's token endpoint gets the serializer's default form (default escaping), as it always has.
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class OAuthJson : System.Text.Json.Serialization.JsonSerializerContext;
