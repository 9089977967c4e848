using System.Text.Json.Nodes;
using Gateway.Accounts;
using Gateway.Hosting;
using Gateway.Outbox;
using Gateway.Security;

namespace Gateway.Leads;

internal static class LeadsApi
{
    public const string IdempotencyHeader = "Idempotency-Key";

    public static RouteGroupBuilder MapLeads(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/leads").WithTags("Leads");
        group.MapPost("/unsorted", SubmitUnsortedAsync).RequireScope(Scopes.Leads);
        group.MapGet("/{id:long}", GetAsync).RequireScope(Scopes.Read);
        group.MapGet("/", ListAsync).RequireScope(Scopes.Read);
        group.MapPost("/{id:long}/retry", RetryAsync).RequireScope(Scopes.Admin);
        group.MapPost("/retry-failed", RetryAllFailedAsync).RequireScope(Scopes.Admin);
        return group;
    }

    private static async Task<IResult> SubmitUnsortedAsync(HttpContext context, LeadIntake intake, LeadPreparation preparation, LeadFieldLookup fieldLookup, AccountRegistry registry)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var key = context.Request.Headers[IdempotencyHeader].ToString();
        if (context.Request.Headers.ContainsKey(IdempotencyHeader) && key.Length is 0 or > 200)
        {
            return Envelope.ValidationFailed(new Dictionary<string, string> { [IdempotencyHeader] = "Idempotency-Key must be 1 to 200 characters" });
        }

        var body = await JsonBody.ReadAsync(context);
        if (body.Error is not null)
        {
            return body.Error;
        }

        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (preparation.Prepare(body.Root, ApiKeyCaller.Get(context), account, errors) is not { } request)
        {
            return Envelope.ValidationFailed(errors);
        }

        // A field amoCRM would refuse is the caller's to fix now, not a dead letter found at delivery.
        if (await fieldLookup.ProblemsAtIntakeAsync(account.Key, request, context.RequestAborted) is { Count: > 0 } problems)
        {
            return Envelope.ValidationFailed(new Dictionary<string, string>(problems, StringComparer.Ordinal));
        }

        return await intake.SubmitAsync(
            account.Key,
            body.Root!,
            context.Connection.RemoteIpAddress?.ToString(),
            context.User.Identity?.Name,
            key.Length > 0 ? key : null,
            context.RequestAborted);
    }

    // A read key sees only the leads its own key created; another key's lead is "not found", not "forbidden".
    private static async Task<IResult> GetAsync(long id, HttpContext context, LeadStore store, Contacts.AssignmentStore assignments, AccountRegistry registry, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account || await store.GetAsync(account.Key, id, cancellationToken) is not { } row || !(Scopes.IsAdmin(context) || row.IdempotencyScope == CreatorOf(context)))
        {
            return Envelope.Fail(StatusCodes.Status404NotFound, $"Lead {id} not found");
        }

        // Additive: "responsible" and "task" once the lead's responsible user was picked (issue 17).
        var view = LeadView.Describe(row);
        await assignments.AddToAsync(view, account.Key, id, cancellationToken);

        return Envelope.Ok(view);
    }

    // The key name a lead is stored under (its idempotency scope), the same one SubmitUnsortedAsync passes.
    private static string? CreatorOf(HttpContext context) => context.User.Identity?.Name;

    private static async Task<IResult> ListAsync(HttpContext context, LeadStore store, AccountRegistry registry, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var query = context.Request.Query;
        string? status = query["status"];
        if (status is not (null or LeadStatus.Queued or LeadStatus.Delivering or LeadStatus.Delivered or LeadStatus.Failed))
        {
            return Envelope.ValidationFailed(new Dictionary<string, string> { ["status"] = "status must be queued, delivering, delivered or failed" });
        }

        var limit = int.TryParse(query["limit"], System.Globalization.CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 250) : 50;
        var after = long.TryParse(query["after"], System.Globalization.CultureInfo.InvariantCulture, out var a) ? a : 0;
        var rows = await store.ListAsync(account.Key, status, Scopes.IsAdmin(context) ? null : CreatorOf(context) ?? "", after, limit, cancellationToken);
        return Envelope.Ok(new LeadList([.. rows.Select(LeadView.Describe)], rows.Count == limit ? rows[^1].Id : null));
    }

    private static async Task<IResult> RetryAsync(long id, HttpContext context, LeadStore store, OutboxSignal signal, AccountRegistry registry, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry)?.Key is not { } account)
        {
            return Envelope.Fail(StatusCodes.Status404NotFound, $"Lead {id} not found");
        }

        if (await store.GetAsync(account, id, cancellationToken) is not { } row)
        {
            return Envelope.Fail(StatusCodes.Status404NotFound, $"Lead {id} not found");
        }

        if (await store.RetryFailedAsync(account, id, cancellationToken) == 0)
        {
            return Envelope.Fail(StatusCodes.Status409Conflict, $"Lead {id} is {row.Status}; only failed leads can be retried");
        }

        signal.Ring();
        return Envelope.Ok(new LeadRequeued(id, LeadStatus.Queued), "Lead queued for another delivery");
    }

    private static async Task<IResult> RetryAllFailedAsync(HttpContext context, LeadStore store, OutboxSignal signal, AccountRegistry registry, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var count = await store.RetryFailedAsync(account.Key, null, cancellationToken);
        signal.Ring();
        return Envelope.Ok(new LeadsRequeued(count), $"{count} failed leads queued for another delivery");
    }
}

internal sealed record LeadList(IReadOnlyList<JsonObject> Leads, long? NextAfter);

internal sealed record LeadRequeued(long Id, string Status);

internal sealed record LeadsRequeued(int Requeued);
