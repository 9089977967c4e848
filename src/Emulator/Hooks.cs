using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Emulator;

public sealed record SentWebhook(string Destination, string Body, int Status);

public sealed record TelegramMessage(string Token, string ChatId, string Text, DateTimeOffset At, int Status);

public sealed record SinkRequest(string Name, IReadOnlyDictionary<string, string> Headers, string Body, int Status);

// What amoCRM sends out and what the gateway sends out, in one place for tests and demos:
// amoCRM's own webhooks (form-encoded v2 bracket payloads, User-Agent amoCRM-Webhooks/3.0) when a lead here changes,
// a Telegram Bot API stand-in (sendMessage, 429 with retry_after on request), and named sinks that record what they
// are sent (callbacks, HTTP subscribers) and can be told to fail.
public sealed class HookState(EmulatorState state)
{
    public const string UserAgent = "amoCRM-Webhooks/3.0";

    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentDictionary<long, (long Pipeline, long Status, long Responsible)> leads = new();
    private readonly ConcurrentQueue<SentWebhook> sent = new();
    private readonly ConcurrentQueue<TelegramMessage> telegram = new();
    private readonly ConcurrentQueue<SinkRequest> sinks = new();
    private readonly ConcurrentDictionary<string, int> sinkStatus = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private int telegramTooMany;
    private int telegramRetryAfter = 1;

    public List<string> Destinations { get; } = [];

    // What sends the webhooks (a test's in-memory gateway client); real HTTP when unset.
    public HttpMessageInvoker? Client { get; set; }

    public IReadOnlyList<SentWebhook> Sent => [.. sent];

    public IReadOnlyList<TelegramMessage> TelegramAttempts => [.. telegram];

    public IReadOnlyList<TelegramMessage> TelegramMessages => [.. telegram.Where(m => m.Status == 200)];

    public IReadOnlyList<SinkRequest> SinkRequests(string name) => [.. sinks.Where(s => s.Name == name)];

    public void AddDestination(string url)
    {
        lock (gate)
        {
            Destinations.Add(url);
        }
    }

    // The next `count` sendMessage calls answer 429 with this retry_after.
    public void TelegramTooManyRequests(int count, int retryAfterSeconds)
    {
        lock (gate)
        {
            telegramTooMany = count;
            telegramRetryAfter = retryAfterSeconds;
        }
    }

    // 0 or 200: the sink answers 200; anything else: that status.
    public void SetSinkStatus(string name, int status) => sinkStatus[name] = status;

    // A lead moves to another status (and pipeline): every destination is told, as amoCRM's "status_lead" webhook would.
    public async Task<IReadOnlyList<SentWebhook>> ChangeStatusAsync(long leadId, long pipelineId, long statusId, long? responsibleUserId = null)
    {
        var before = leads.GetValueOrDefault(leadId, (pipelineId, 0, 0));
        var responsible = responsibleUserId ?? before.Responsible;
        leads[leadId] = (pipelineId, statusId, responsible);
        var at = state.Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var fields = new List<KeyValuePair<string, string>>
        {
            new("leads[status][0][id]", leadId.ToString(CultureInfo.InvariantCulture)),
            new("leads[status][0][status_id]", statusId.ToString(CultureInfo.InvariantCulture)),
            new("leads[status][0][pipeline_id]", pipelineId.ToString(CultureInfo.InvariantCulture)),
            new("leads[status][0][old_status_id]", before.Status.ToString(CultureInfo.InvariantCulture)),
            new("leads[status][0][old_pipeline_id]", before.Pipeline.ToString(CultureInfo.InvariantCulture)),
            new("leads[status][0][responsible_user_id]", responsible.ToString(CultureInfo.InvariantCulture)),
            new("leads[status][0][last_modified]", at),
            new("leads[status][0][modified_user_id]", "0"),
            new("leads[status][0][account_id]", state.MainAccount.Id.ToString(CultureInfo.InvariantCulture)),
            new("account[subdomain]", state.MainAccount.Subdomain),
            new("account[id]", state.MainAccount.Id.ToString(CultureInfo.InvariantCulture)),
            new("account[_links][self]", "https://" + state.MainAccount.Host),
        };
        return await SendAsync(fields);
    }

    // A manager accepts an unsorted item: its lead now counts as added, as amoCRM's "add_lead" webhook says.
    public async Task<IReadOnlyList<SentWebhook>> LeadAddedAsync(LeadRecord lead)
    {
        var pipeline = lead.PipelineId ?? 0;
        leads.TryAdd(lead.Id, (pipeline, 0, 0));
        var at = state.Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var fields = new List<KeyValuePair<string, string>>
        {
            new("leads[add][0][id]", lead.Id.ToString(CultureInfo.InvariantCulture)),
            new("leads[add][0][name]", lead.Name ?? ""),
            new("leads[add][0][price]", (lead.Price ?? 0).ToString(CultureInfo.InvariantCulture)),
            new("leads[add][0][pipeline_id]", pipeline.ToString(CultureInfo.InvariantCulture)),
            new("leads[add][0][created_at]", at),
            new("leads[add][0][last_modified]", at),
            new("leads[add][0][account_id]", lead.AccountId.ToString(CultureInfo.InvariantCulture)),
            new("account[subdomain]", state.MainAccount.Subdomain),
            new("account[id]", state.MainAccount.Id.ToString(CultureInfo.InvariantCulture)),
            new("account[_links][self]", "https://" + state.MainAccount.Host),
        };
        return await SendAsync(fields);
    }

    public async Task<IReadOnlyList<SentWebhook>> SendAsync(IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        List<string> destinations;
        lock (gate)
        {
            destinations = [.. Destinations];
        }

        var results = new List<SentWebhook>();
        foreach (var destination in destinations)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, destination) { Content = new FormUrlEncodedContent(fields) };
            request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
            var body = await request.Content.ReadAsStringAsync();
            int status;
            try
            {
                using var response = await (Client ?? Http).SendAsync(request, CancellationToken.None);
                status = (int)response.StatusCode;
            }
            catch (HttpRequestException)
            {
                status = 0;
            }

            var result = new SentWebhook(destination, body, status);
            sent.Enqueue(result);
            results.Add(result);
        }

        return results;
    }

    internal IResult SendMessage(string token, JsonObject? body)
    {
        var chat = body?["chat_id"]?.ToJsonString().Trim('"') ?? "";
        var text = body?["text"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : "";
        var now = state.Now;
        bool tooMany;
        int retryAfter;
        lock (gate)
        {
            tooMany = telegramTooMany > 0;
            if (tooMany)
            {
                telegramTooMany--;
            }

            retryAfter = telegramRetryAfter;
        }

        if (chat.Length == 0 || text.Length == 0)
        {
            telegram.Enqueue(new TelegramMessage(token, chat, text, now, 400));
            return AmoResults.PlainJson(new JsonObject { ["ok"] = false, ["error_code"] = 400, ["description"] = "Bad Request: message text is empty" }, 400);
        }

        if (tooMany)
        {
            telegram.Enqueue(new TelegramMessage(token, chat, text, now, 429));
            return AmoResults.PlainJson(new JsonObject
            {
                ["ok"] = false,
                ["error_code"] = 429,
                ["description"] = $"Too Many Requests: retry after {retryAfter}",
                ["parameters"] = new JsonObject { ["retry_after"] = retryAfter },
            }, 429);
        }

        telegram.Enqueue(new TelegramMessage(token, chat, text, now, 200));
        return AmoResults.PlainJson(new JsonObject
        {
            ["ok"] = true,
            ["result"] = new JsonObject { ["message_id"] = telegram.Count, ["chat"] = new JsonObject { ["id"] = chat }, ["text"] = text, ["date"] = now.ToUnixTimeSeconds() },
        });
    }

    internal IResult Sink(string name, HttpRequest request, string body)
    {
        var status = sinkStatus.GetValueOrDefault(name) is var s and not 0 ? s : 200;
        sinks.Enqueue(new SinkRequest(name, request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body, status));
        return Results.StatusCode(status);
    }
}

internal static class HookEndpoints
{
    public static IEndpointRouteBuilder MapHooks(this IEndpointRouteBuilder routes)
    {
        var control = routes.MapGroup("/_emulator");
        control.MapPost("/webhooks", async (HttpRequest request, HookState hooks) =>
        {
            var body = await System.Text.Json.Nodes.JsonNode.ParseAsync(request.Body) as JsonObject;
            if (body?["destination"] is not JsonValue d || !d.TryGetValue<string>(out var url) || !Uri.TryCreate(url, UriKind.Absolute, out _))
            {
                return AmoResults.BadRequest("destination must be a URL");
            }

            hooks.AddDestination(url);
            return Results.NoContent();
        });
        control.MapPost("/leads/{id:long}/status", async (long id, HttpRequest request, HookState hooks, EmulatorState state) =>
        {
            var body = await System.Text.Json.Nodes.JsonNode.ParseAsync(request.Body) as JsonObject;
            long Long(string key) => body?[key] is JsonValue v && v.TryGetValue<long>(out var l) ? l : 0;
            state.SetLeadStatus(id, Long("pipeline_id"), Long("status_id"));
            var sent = await hooks.ChangeStatusAsync(id, Long("pipeline_id"), Long("status_id"), body?["responsible_user_id"] is null ? null : Long("responsible_user_id"));
            return AmoResults.PlainJson(new JsonArray([.. sent.Select(s => (JsonNode)new JsonObject { ["destination"] = s.Destination, ["status"] = s.Status })]));
        });
        control.MapPost("/telegram/{bot}/sendMessage", async (string bot, HttpRequest request, HookState hooks) =>
        {
            if (!bot.StartsWith("bot", StringComparison.Ordinal))
            {
                return AmoResults.PlainJson(new JsonObject { ["ok"] = false, ["error_code"] = 404, ["description"] = "Not Found" }, 404);
            }

            var token = bot[3..];
            JsonObject? body;
            try
            {
                body = await System.Text.Json.Nodes.JsonNode.ParseAsync(request.Body) as JsonObject;
            }
            catch (System.Text.Json.JsonException)
            {
                body = null;
            }

            return hooks.SendMessage(token, body);
        });
        control.MapPost("/telegram/faults", async (HttpRequest request, HookState hooks) =>
        {
            var body = await System.Text.Json.Nodes.JsonNode.ParseAsync(request.Body) as JsonObject;
            hooks.TelegramTooManyRequests(body?["too_many_requests"]?.GetValue<int>() ?? 0, body?["retry_after"]?.GetValue<int>() ?? 1);
            return Results.NoContent();
        });
        control.MapGet("/telegram/messages", (HookState hooks) => AmoResults.PlainJson(new JsonArray([.. hooks.TelegramMessages.Select(m => (JsonNode)new JsonObject { ["chat_id"] = m.ChatId, ["text"] = m.Text })])));
        control.MapPost("/sink/{name}", async (string name, HttpRequest request, HookState hooks) =>
        {
            using var reader = new StreamReader(request.Body);
            return hooks.Sink(name, request, await reader.ReadToEndAsync());
        });
        control.MapGet("/sink/{name}", (string name, HookState hooks) => AmoResults.PlainJson(new JsonArray([.. hooks.SinkRequests(name).Select(s => (JsonNode)new JsonObject { ["body"] = s.Body })])));
        return routes;
    }
}
