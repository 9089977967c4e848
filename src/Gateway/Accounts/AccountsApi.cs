using System.Text.Json.Nodes;
using Gateway.Hosting;
using Gateway.Operations;
using Gateway.Outbox;
using Gateway.Security;

namespace Gateway.Accounts;

// The accounts an admin looks after: state, token and queue per account; pause and resume delivery per account.
// An admin key bound to one account sees and acts on that account only.
internal static class AccountsApi
{
    public static RouteGroupBuilder MapAccounts(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/admin/accounts").RequireScope(Scopes.Admin).WithTags("Accounts");
        group.MapGet("/", ListAsync);
        group.MapPost("/{domain}/pause", PauseAsync);
        group.MapPost("/{domain}/resume", ResumeAsync);
        return group;
    }

    private static async Task<IResult> ListAsync(HttpContext context, AccountRegistry registry, GatewayStatus status, TokenDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        var statuses = (await status.AccountsAsync(cancellationToken)).ToDictionary(s => s.Account, StringComparer.Ordinal);
        var list = new JsonArray();
        foreach (var account in registry.All.Where(a => CallerAccount.MaySee(context, a.Key)))
        {
            list.Add((JsonNode)await DescribeAsync(account, statuses.GetValueOrDefault(account.Key), diagnostics, cancellationToken));
        }

        return Envelope.Ok(new JsonObject { ["accounts"] = list });
    }

    private static async Task<IResult> PauseAsync(string domain, HttpContext context, AccountRegistry registry, AccountDeliveryState delivery, TokenDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        if (Visible(context, registry, domain) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        await delivery.PauseAsync(account.Key, cancellationToken);
        return Envelope.Ok(await QueueOfAsync(account, diagnostics, cancellationToken), $"Delivery to {account.Domain} paused");
    }

    private static async Task<IResult> ResumeAsync(string domain, HttpContext context, AccountRegistry registry, AccountDeliveryState delivery, OutboxSignal outbox, TokenDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        if (Visible(context, registry, domain) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        await delivery.ResumeAsync(account.Key, cancellationToken);
        outbox.Ring();
        return Envelope.Ok(await QueueOfAsync(account, diagnostics, cancellationToken), $"Delivery to {account.Domain} resumed");
    }

    private static AmoAccount? Visible(HttpContext context, AccountRegistry registry, string domain) =>
        registry.Find(domain) is { } account && CallerAccount.MaySee(context, account.Key) ? account : null;

    private static async Task<JsonObject> QueueOfAsync(AmoAccount account, TokenDiagnostics diagnostics, CancellationToken cancellationToken) =>
        new() { ["domain"] = account.Domain, ["queue"] = await diagnostics.QueueAsync(account.Key, cancellationToken) };

    // No secrets: whether a client secret or a long-lived token is configured, never what it is.
    private static async Task<JsonObject> DescribeAsync(AmoAccount account, AccountStatus? status, TokenDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        var queue = await diagnostics.QueueAsync(account.Key, cancellationToken);
        return new JsonObject
        {
            ["domain"] = account.Domain,
            ["default"] = account.IsDefault,
            ["source"] = account.IsDefault ? "env" : "accounts_file",
            ["oauth"] = account.UsesOAuth,
            ["rate_limit"] = account.RateLimitPerSecond,
            ["base_url"] = account.BaseUrl?.AbsoluteUri,
            ["state"] = queue["paused_until"] is not null ? "paused" : status is { CanDeliver: true } ? "delivering" : "waiting_for_token",
            ["token_state"] = status?.TokenState ?? "missing",
            ["can_deliver"] = status?.CanDeliver ?? false,
            ["queue"] = queue,
        };
    }
}
