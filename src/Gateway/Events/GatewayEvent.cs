using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Events;

// One thing that happened, for one account: what callbacks, HTTP subscribers and Telegram chats are told.
// Id is the receiver's de-duplication key: the same happening always has the same id, however often it is sent.
internal sealed record GatewayEvent(string Id, string Account, string Type, DateTimeOffset OccurredAt, JsonObject Data)
{
    // Lead outcomes are derived from the lead row, so a settlement seen twice (a retried apply) names the same event.
    public static string IdFor(string account, string type, string naturalKey) =>
        "evt_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(account + "\n" + type + "\n" + naturalKey)))[..32];

    public static string NewId() => "evt_" + Guid.NewGuid().ToString("N");

    // The JSON every HTTP destination receives (and the README documents).
    public JsonObject Envelope() => new()
    {
        ["id"] = Id,
        ["type"] = Type,
        ["account"] = Account,
        ["occurred_at"] = OccurredAt.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        ["data"] = Data.DeepClone(),
    };
}

internal static class EventTypes
{
    public const string LeadDelivered = "lead.delivered";
    public const string LeadFailed = "lead.failed";
    public const string LeadRejected = "lead.rejected";
    public const string AccountConsentNeeded = "account.consent_needed";
    public const string QueueStuck = "queue.stuck";

    // The caller's own lead: only these go to a key's callback_url.
    public static bool IsLeadOutcome(string type) => type is LeadDelivered or LeadFailed or LeadRejected;
}

// Where rooms hand an event over: Sources (a rejected submission), the outbox (a lead's outcome), amoCRM's webhooks.
// Stored with its deliveries in one transaction: once this returns, the event survives a crash.
internal interface IGatewayEvents
{
    Task PublishAsync(GatewayEvent gatewayEvent, CancellationToken cancellationToken);

    // Whether any destination could want an event of this type and account (filters aside): a room may skip building
    // events nobody receives — delivery settles thousands of leads a second, and most gateways listen to none of them.
    bool AnyoneListens(string account, string type);
}
