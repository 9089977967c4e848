using Gateway.Amo.Tokens;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Amo;

internal enum AmoFailure
{
    None,
    NotAuthorized,   // no usable token: consent or re-authorization needed
    Unauthorized,    // amoCRM answered 401 even after a refresh
    BadRequest,      // 400, usually validation-errors
    PaymentRequired, // 402: the subscription has ended
    Forbidden,       // 403: account or IP blocked
    NotFound,
    RateLimited,     // 429
    ServerError,     // 5xx
    Timeout,
    Unreachable,
    BadResponse,     // 2xx we could not read
    Withdrawn,       // the caller's guard said no just before the send: nothing went out
}

internal sealed record AmoResult(AmoFailure Failure, int? HttpStatus, JsonNode? Body, string Description)
{
    public bool Ok => Failure == AmoFailure.None;

    // The request went out and its answer never came whole (a timeout, a reset after sending, a proxy's 502/503/504,
    // a 2xx that cannot be read): amoCRM may have done the work. A write is looked for before it is sent again.
    public bool AnswerLost { get; init; }

    // Whether the same request may succeed later without anyone changing anything.
    public bool IsTransient => Failure is AmoFailure.RateLimited or AmoFailure.ServerError or AmoFailure.Timeout or AmoFailure.Unreachable;
}

// The typed client for amoCRM's API v4; tokens and hosts come from AmoAuthHandler, pacing from AmoPacingHandler.
internal sealed partial class AmoClient(HttpClient http, ILogger<AmoClient> logger)
{
    // A placeholder base: the handler swaps in the account's own host (or AMO_BASE_URL).
    internal static readonly Uri PlaceholderBase = new("https://amocrm.account/");

    // A read: once unwanted is cancelled (nobody waits for it) the call is withdrawn until it is sent; once sent it runs
    // to its answer. The priority says whose turn it takes (a lookup's, or a delivery's that needs it).
    public Task<AmoResult> GetAsync(string account, string pathAndQuery, AmoPriority priority, CancellationToken unwanted) =>
        SendAsync(account, HttpMethod.Get, pathAndQuery, null, priority, null, unwanted, CancellationToken.None);

    public Task<AmoResult> PostAsync(string account, string path, JsonNode body, CancellationToken cancellationToken) =>
        SendAsync(account, HttpMethod.Post, path, body, new AmoPriority(AmoCallClass.Delivery), null, CancellationToken.None, cancellationToken);

    // claim is asked once the call holds its token and slot; when it says no, nothing is sent and the answer is Withdrawn.
    public Task<AmoResult> PostAsync(string account, string path, JsonNode body, SendGuard claim, CancellationToken cancellationToken) =>
        SendAsync(account, HttpMethod.Post, path, body, new AmoPriority(AmoCallClass.Delivery), claim, CancellationToken.None, cancellationToken);

    // An update that is the same whether sent once or twice (a contact's full value list): no claim guard needed.
    public Task<AmoResult> PatchAsync(string account, string path, JsonNode body, CancellationToken cancellationToken) =>
        SendAsync(account, HttpMethod.Patch, path, body, new AmoPriority(AmoCallClass.Delivery), null, CancellationToken.None, cancellationToken);

    // Follows _links.next until the last page; a 204 is an empty list.
    public async Task<AmoResult> GetAllPagesAsync(string account, string path, string embeddedName, AmoPriority priority, CancellationToken unwanted)
    {
        var items = new JsonArray();
        var next = path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "limit=250&page=1";
        for (var page = 0; next is not null && page < 1000; page++)
        {
            var result = await GetAsync(account, next, priority, unwanted);
            if (!result.Ok)
            {
                return result;
            }

            if (result.Body is not JsonObject body)
            {
                break;
            }

            if (body["_embedded"]?[embeddedName] is JsonArray pageItems)
            {
                foreach (var item in pageItems)
                {
                    items.Add(item?.DeepClone());
                }
            }

            next = NextLink(body);
        }

        var all = new JsonObject
        {
            ["_total_items"] = items.Count,
            ["_embedded"] = new JsonObject { [embeddedName] = items },
        };
        return new AmoResult(AmoFailure.None, 200, all, "ok");
    }

    private static string? NextLink(JsonObject body)
    {
        if (AmoJson.Text(body["_links"]?["next"]?["href"]) is not { } href)
        {
            return null;
        }

        // amoCRM's links are absolute on the account host; only the path and query are ours to follow.
        return Uri.TryCreate(href, UriKind.Absolute, out var uri) ? uri.PathAndQuery : href;
    }

    private async Task<AmoResult> SendAsync(
        string account, HttpMethod method, string pathAndQuery, JsonNode? body, AmoPriority priority, SendGuard? guard, CancellationToken unwanted, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(PlaceholderBase, pathAndQuery.TrimStart('/')));
        var call = new AmoCall(account, priority, guard, unwanted);
        call.AttachTo(request);

        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (AmoNotAuthorizedException ex)
        {
            return new AmoResult(ex.Transient ? AmoFailure.Unreachable : AmoFailure.NotAuthorized, null, null, ex.Message);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            // No connection, so amoCRM never saw the request.
            return new AmoResult(AmoFailure.Unreachable, null, null, "amoCRM could not be reached");
        }
        catch (HttpRequestException)
        {
            return new AmoResult(AmoFailure.Unreachable, null, null, "the connection to amoCRM broke off") { AnswerLost = call.Sent };
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new AmoResult(AmoFailure.Timeout, null, null, "amoCRM did not answer in time") { AnswerLost = call.Sent };
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The handler pipeline (token store, refresh lease) must not turn a failed call into a 500 or a stuck outbox row.
            LogCallFailed(ex, account);
            return new AmoResult(AmoFailure.Unreachable, null, null, ex is TimeoutException
                ? "timed out waiting for another process to finish refreshing the amoCRM token"
                : "the amoCRM call failed unexpectedly") { AnswerLost = call.Sent };
        }

        using (response)
        {
            if (call.Withdrawn)
            {
                return new AmoResult(AmoFailure.Withdrawn, null, null, "the call was withdrawn before it was sent");
            }

            string text;
            try
            {
                text = await response.Content.ReadAsStringAsync(cancellationToken);
            }
            catch (HttpRequestException)
            {
                return new AmoResult(AmoFailure.Unreachable, (int)response.StatusCode, null, "the answer from amoCRM broke off") { AnswerLost = true };
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new AmoResult(AmoFailure.Timeout, (int)response.StatusCode, null, "amoCRM did not finish its answer in time") { AnswerLost = true };
            }

            return Classify((int)response.StatusCode, text);
        }
    }

    internal static AmoResult Classify(int status, string text)
    {
        // HTML 429/403/5xx pages are common: parse leniently, never let a JSON error escape.
        JsonNode? json = null;
        if (text.Length > 0)
        {
            try
            {
                json = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                json = null;
            }
        }

        if (status is >= 200 and < 300)
        {
            // A 2xx we cannot read still says amoCRM did the work.
            return text.Length > 0 && json is null
                ? new AmoResult(AmoFailure.BadResponse, status, null, "amoCRM answered with a body that is not JSON") { AnswerLost = true }
                : new AmoResult(AmoFailure.None, status, json, "ok");
        }

        var failure = status switch
        {
            (int)HttpStatusCode.BadRequest => AmoFailure.BadRequest,
            (int)HttpStatusCode.Unauthorized => AmoFailure.Unauthorized,
            (int)HttpStatusCode.PaymentRequired => AmoFailure.PaymentRequired,
            (int)HttpStatusCode.Forbidden => AmoFailure.Forbidden,
            (int)HttpStatusCode.NotFound => AmoFailure.NotFound,
            (int)HttpStatusCode.TooManyRequests => AmoFailure.RateLimited,
            (int)HttpStatusCode.RequestTimeout => AmoFailure.Timeout,
            425 => AmoFailure.RateLimited,
            >= 500 => AmoFailure.ServerError,
            _ => AmoFailure.BadRequest,
        };
        var description = json is JsonObject problem ? AmoJson.DescribeProblem(problem) : $"amoCRM answered {status}";

        // A proxy's 502/503/504 may stand in front of an amoCRM that finished the work; amoCRM's own 500 and 429 did not.
        return new AmoResult(failure, status, json is JsonObject ? json : null, description.Length > 0 ? description : $"amoCRM answered {status}")
        {
            AnswerLost = status is StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable or StatusCodes.Status504GatewayTimeout,
        };
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "An amoCRM call for {Account} failed before an answer arrived")]
    private partial void LogCallFailed(Exception exception, string account);
}
