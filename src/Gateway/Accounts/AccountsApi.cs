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
        group.MapPost("/", AddAsync);
        group.MapDelete("/{domain}", RemoveAsync);
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

    // An account added here is stored in the database (encrypted) and delivered to by every instance within a second.
    // Only an admin not bound to an account may add or remove one: a key of one account never learns of the others.
    private static async Task<IResult> AddAsync(HttpContext context, AccountRegistry registry, StoredAccounts stored, GatewayStatus status, TokenDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        if (BoundRefusal(context) is { } refused)
        {
            return refused;
        }

        var body = await JsonBody.ReadAsync(context);
        if (body.Error is not null)
        {
            return body.Error;
        }

        if (body.Root is not JsonObject entry)
        {
            return Envelope.ValidationFailed(new Dictionary<string, string> { ["account"] = "The body must be one account as ACCOUNTS_FILE holds it: {\"domain\": \"…\", \"client_id\": \"…\", …}" });
        }

        AmoAccount parsed;
        try
        {
            parsed = stored.Check(entry);
        }
        catch (AccountsFileException ex)
        {
            return Envelope.ValidationFailed(new Dictionary<string, string> { ["account"] = ex.Message });
        }

        if (registry.Find(parsed.Domain) is { } existing)
        {
            return Envelope.Fail(StatusCodes.Status409Conflict, $"Account {existing.Domain} exists already", new Dictionary<string, string> { ["source"] = existing.Origin });
        }

        if (await stored.AddAsync(entry, parsed, cancellationToken) == StoredAccountAdd.Exists)
        {
            return Envelope.Fail(StatusCodes.Status409Conflict, $"Account {parsed.Domain} exists already", new Dictionary<string, string> { ["source"] = "database" });
        }

        var statuses = (await status.AccountsAsync(cancellationToken)).ToDictionary(s => s.Account, StringComparer.Ordinal);
        return Envelope.Created(await DescribeAsync(registry.Find(parsed.Domain) ?? parsed, statuses.GetValueOrDefault(parsed.Key), diagnostics, cancellationToken), $"Account {parsed.Domain} added");
    }

    // Like taking an account out of the file: delivery stops, its stored leads and tokens stay (added again, it goes on).
    private static async Task<IResult> RemoveAsync(string domain, HttpContext context, AccountRegistry registry, StoredAccounts stored, CancellationToken cancellationToken)
    {
        if (BoundRefusal(context) is { } refused)
        {
            return refused;
        }

        if (registry.Find(domain) is { Origin: not "database" } configured)
        {
            return Envelope.Fail(StatusCodes.Status409Conflict, $"Account {configured.Domain} is configured in {(configured.IsDefault ? ".env (AMO_DOMAIN)" : "ACCOUNTS_FILE")}; remove it there", new Dictionary<string, string> { ["source"] = configured.Origin });
        }

        var key = Amo.AmoOptionsSetup.NormalizeHost(domain) ?? "";
        return await stored.RemoveAsync(key, cancellationToken)
            ? Envelope.Ok(new JsonObject { ["domain"] = key }, $"Account {key} removed; its stored leads are kept")
            : CallerAccount.NotFound();
    }

    private static IResult? BoundRefusal(HttpContext context) =>
        ApiKeyCaller.Get(context)?.Account is not null
            ? Envelope.Fail(StatusCodes.Status403Forbidden, "Only an admin not bound to an account may add or remove accounts")
            : null;

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
            ["source"] = account.Origin,
            ["oauth"] = account.UsesOAuth,
            ["rate_limit"] = account.RateLimitPerSecond,
            ["base_url"] = account.BaseUrl?.AbsoluteUri,
            ["state"] = queue["paused_until"] is not null ? "paused" : status is { CanDeliver: true } ? "delivering" : "waiting_for_token",
            ["token_state"] = status?.TokenState ?? "missing",
            ["can_deliver"] = status?.CanDeliver ?? false,
            ["amo_account_id"] = status?.AmoAccountId,
            ["base_domain"] = status?.BaseDomain,
            ["queue"] = queue,
        };
    }
}
