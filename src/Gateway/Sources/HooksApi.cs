using System.Text;
using Gateway.Accounts;
using Gateway.Hosting;
using Gateway.Leads;
using Gateway.Security;
using Microsoft.Extensions.Options;

namespace Gateway.Sources;

// POST /hooks/{tilda|elementor|cf7|form}[/{key}]: what form builders send, stored first, then made into a lead. Each
// tool hears what it needs: Tilda "ok" (and never a reason to retry a stored submission), Elementor exactly 200, CF7 and
// plain forms the envelope (a 422 when the submission cannot be a lead; it is kept as rejected all the same).
internal static partial class HooksApi
{
    public const string TildaOk = "ok";

    public static IEndpointRouteBuilder MapHooks(this IEndpointRouteBuilder routes)
    {
        // Read now: a SOURCES_FILE that cannot be used stops start-up with its one line, not the first submission.
        _ = routes.ServiceProvider.GetRequiredService<SourceProfiles>().Current;
        var hooks = routes.MapGroup("/hooks").WithTags("Form webhooks");
        foreach (var tool in HookKeyInPath.Tools)
        {
            hooks.MapPost("/" + tool, (HttpContext context, SubmissionIntake intake, AccountRegistry registry, IOptions<SecurityOptions> limits) =>
                ReceiveAsync(tool, context, intake, registry, limits.Value)).RequireScope(Scopes.Leads);
        }

        var admin = routes.MapGroup("/api/v1/admin/submissions").WithTags("Form webhooks");
        admin.MapGet("/", ListAsync).RequireScope(Scopes.Admin);
        admin.MapPost("/{id:long}/replay", ReplayAsync).RequireScope(Scopes.Admin);
        return routes;
    }

    private static async Task<IResult> ReceiveAsync(string tool, HttpContext context, SubmissionIntake intake, AccountRegistry registry, SecurityOptions limits)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        if (await ReadBodyAsync(context, limits.MaxBodyBytes) is not { } body)
        {
            return Envelope.Fail(StatusCodes.Status413PayloadTooLarge, "Request body too large", new BodyTooLarge(limits.MaxBodyBytes));
        }

        // Tilda's connection check: answered, never stored.
        if (tool == SourceTool.Tilda && body.AsSpan().Trim(" \r\n"u8).SequenceEqual("test=test"u8))
        {
            return Results.Text(TildaOk, "text/plain; charset=utf-8", Encoding.UTF8, StatusCodes.Status200OK);
        }

        var outcome = await intake.ReceiveAsync(account, tool, ApiKeyCaller.Get(context), context.Request.ContentType, body, context.Request.Query["form"].ToString() is { Length: > 0 } form ? form : null);
        return Answer(tool, outcome);
    }

    private static IResult Answer(string tool, SubmissionOutcome outcome)
    {
        if (tool == SourceTool.Tilda)
        {
            return Results.Text(TildaOk, "text/plain; charset=utf-8", Encoding.UTF8, StatusCodes.Status200OK);
        }

        var view = new SubmissionAnswer(outcome.SubmissionId, outcome.Status, outcome.LeadId);
        if (outcome.Status == SubmissionStatus.Accepted)
        {
            return Envelope.Ok(view, "Submission stored and queued for delivery");
        }

        // Elementor shows the visitor "Webhook error" for anything but 200: the rejected submission waits for an admin.
        return tool == SourceTool.Elementor
            ? Envelope.Ok(view, "Submission stored as rejected: " + outcome.Problem)
            : Envelope.Fail(StatusCodes.Status422UnprocessableEntity, "Submission stored as rejected: it cannot be made into a lead", new SubmissionRejected(outcome.SubmissionId, outcome.Problems));
    }

    // Null when the body is larger than MAX_BODY_BYTES.
    private static async Task<byte[]?> ReadBodyAsync(HttpContext context, int maxBytes)
    {
        if (context.Request.ContentLength > maxBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static async Task<IResult> ListAsync(HttpContext context, SubmissionStore store, AccountRegistry registry, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var query = context.Request.Query;
        string? status = query["status"];
        if (status is not (null or SubmissionStatus.Received or SubmissionStatus.Accepted or SubmissionStatus.Rejected))
        {
            return Envelope.ValidationFailed(new Dictionary<string, string> { ["status"] = "status must be received, accepted or rejected" });
        }

        var limit = int.TryParse(query["limit"], System.Globalization.CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 250) : 50;
        var after = long.TryParse(query["after"], System.Globalization.CultureInfo.InvariantCulture, out var a) ? a : 0;
        var rows = await store.ListAsync(account.Key, status, after, limit, cancellationToken);
        return Envelope.Ok(new SubmissionList([.. rows.Select(r => Describe(r, store))], rows.Count == limit ? rows[^1].Id : null));
    }

    private static async Task<IResult> ReplayAsync(long id, HttpContext context, SubmissionStore store, SubmissionIntake intake, AccountRegistry registry, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account || await store.GetAsync(account.Key, id, cancellationToken) is not { } row)
        {
            return Envelope.Fail(StatusCodes.Status404NotFound, $"Submission {id} not found");
        }

        if (row.Status == SubmissionStatus.Accepted)
        {
            return Envelope.Fail(StatusCodes.Status409Conflict, $"Submission {id} is already lead {row.LeadId}; only rejected submissions are replayed");
        }

        var outcome = await intake.ReplayAsync(account, row);
        var view = new SubmissionAnswer(outcome.SubmissionId, outcome.Status, outcome.LeadId);
        return outcome.Status == SubmissionStatus.Accepted
            ? Envelope.Ok(view, "Submission replayed and queued for delivery")
            : Envelope.Fail(StatusCodes.Status422UnprocessableEntity, "Submission still cannot be made into a lead", new SubmissionRejected(outcome.SubmissionId, outcome.Problems));
    }

    private static SubmissionView Describe(SubmissionRow row, SubmissionStore store)
    {
        var body = store.OpenBody(row);
        var fields = body is null ? null : FormFields.Parse(body, row.ContentType, out _);
        return new SubmissionView(
            row.Id, row.Tool, row.Status, row.Form, row.KeyName, row.Problem, row.LeadId, row.ReceivedAt, row.UpdatedAt,
            fields?.Select(f => new SubmissionFieldView(f.Label, f.Value)).ToList(),
            fields is null && body is not null ? Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 10_000)) : null);
    }
}

internal sealed record SubmissionAnswer(long SubmissionId, string Status, long? LeadId);

internal sealed record SubmissionRejected(long SubmissionId, IReadOnlyDictionary<string, string> Problems);

internal sealed record SubmissionFieldView(string Label, string Value);

internal sealed record SubmissionView(
    long Id, string Source, string Status, string? Form, string? KeyName, string? Problem, long? LeadId,
    DateTimeOffset ReceivedAt, DateTimeOffset UpdatedAt, IReadOnlyList<SubmissionFieldView>? Fields, string? Body);

internal sealed record SubmissionList(IReadOnlyList<SubmissionView> Submissions, long? NextAfter);
