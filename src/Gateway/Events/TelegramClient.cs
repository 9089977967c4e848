using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Gateway.Events;

internal enum TelegramOutcome
{
    Sent,
    RetryAfter,   // 429: Telegram said when
    Failed,       // worth trying again later (5xx, network, timeout, a token not set yet)
    Refused,      // never will work: chat not found, bot blocked or not a member
}

internal sealed record TelegramAnswer(TelegramOutcome Outcome, string Description, TimeSpan? RetryAfter = null);

// The one Bot API call the gateway makes, by hand: sendMessage. Its URL holds the bot token, so it is never logged
// and no error text that could quote it leaves here (no IHttpClientFactory logging handler is in the way either).
internal sealed class TelegramClient(IOptions<EventsOptions> options) : IDisposable
{
    private readonly HttpClient http = new(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
        MaxResponseContentBufferSize = 64 * 1024,
    };

    public async Task<TelegramAnswer> SendMessageAsync(string chatId, string text, CancellationToken cancellationToken)
    {
        if (options.Value.TelegramBotToken is not { } token)
        {
            return new TelegramAnswer(TelegramOutcome.Failed, "TELEGRAM_BOT_TOKEN is not set");
        }

        var body = new JsonObject
        {
            ["chat_id"] = long.TryParse(chatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id) ? id : chatId,
            ["text"] = text,
            ["disable_web_page_preview"] = true,
        };
        // Wall-clock like amoCRM calls' timeout: a network wait is real seconds, whatever the business clock says.
        using var timeout = new CancellationTokenSource();
        timeout.CancelAfter(options.Value.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(options.Value.TelegramApiUrl, "./bot" + token + "/sendMessage"))
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            using var response = await http.SendAsync(request, linked.Token);
            var answer = await ReadAsync(response, linked.Token);
            var description = answer?["description"] is JsonValue d && d.TryGetValue<string>(out var text2) ? text2 : "";
            if (response.IsSuccessStatusCode && answer?["ok"] is JsonValue ok && ok.TryGetValue<bool>(out var isOk) && isOk)
            {
                return new TelegramAnswer(TelegramOutcome.Sent, "sent");
            }

            var code = (int)response.StatusCode;
            if (code == 429)
            {
                var seconds = answer?["parameters"]?["retry_after"] is JsonValue r && r.TryGetValue<int>(out var after) ? after
                    : response.Headers.RetryAfter?.Delta is { } delta ? (int)Math.Ceiling(delta.TotalSeconds) : 5;
                return new TelegramAnswer(TelegramOutcome.RetryAfter, $"429 {Clean(description, token)}", TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 3600)));
            }

            // 400 chat not found, 403 blocked / kicked: a message to that chat cannot succeed until someone changes something.
            return code is 400 or 403
                ? new TelegramAnswer(TelegramOutcome.Refused, $"{code} {Clean(description, token)}")
                : new TelegramAnswer(TelegramOutcome.Failed, $"{code} {Clean(description, token)}");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new TelegramAnswer(TelegramOutcome.Failed, $"no answer within {options.Value.Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex)
        {
            // The message may hold the request URI, and with it the token.
            return new TelegramAnswer(TelegramOutcome.Failed, "network: " + Clean(ex.HttpRequestError.ToString(), token));
        }
    }

    private static async Task<JsonNode?> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is JsonException or HttpRequestException)
        {
            return null;
        }
    }

    private static string Clean(string text, string token) => text.Replace(token, "<token>", StringComparison.Ordinal);

    public void Dispose() => http.Dispose();
}

// Telegram's limits: about one message a second per chat, 30 a second per bot; a 429's retry_after holds its chat
// (and, to be safe, the bot) until then. In-process: one gateway instance talks to its bot at a time in practice.
internal sealed class TelegramPacer(TimeProvider time)
{
    private static readonly TimeSpan PerChat = TimeSpan.FromSeconds(1);
    private const int PerBotPerSecond = 30;
    private readonly Lock gate = new();
    private readonly Dictionary<string, DateTimeOffset> chatFreeAt = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> botSends = new();
    private DateTimeOffset botFreeAt;

    // Null: send now (the slot is taken). Otherwise: not before then.
    public DateTimeOffset? TryTake(string chat)
    {
        var now = time.GetUtcNow();
        lock (gate)
        {
            while (botSends.Count > 0 && botSends.Peek() <= now - TimeSpan.FromSeconds(1))
            {
                botSends.Dequeue();
            }

            var free = chatFreeAt.GetValueOrDefault(chat);
            if (botFreeAt > free) free = botFreeAt;
            if (botSends.Count >= PerBotPerSecond && botSends.Peek() + TimeSpan.FromSeconds(1) > free) free = botSends.Peek() + TimeSpan.FromSeconds(1);
            if (free > now)
            {
                return free;
            }

            chatFreeAt[chat] = now + PerChat;
            botSends.Enqueue(now);
            if (chatFreeAt.Count > 10_000)
            {
                foreach (var stale in chatFreeAt.Where(c => c.Value < now).Select(c => c.Key).ToList())
                {
                    chatFreeAt.Remove(stale);
                }
            }

            return null;
        }
    }

    public void Hold(string chat, TimeSpan retryAfter)
    {
        var until = time.GetUtcNow() + retryAfter;
        lock (gate)
        {
            chatFreeAt[chat] = until;
            if (until > botFreeAt) botFreeAt = until;
        }
    }
}
