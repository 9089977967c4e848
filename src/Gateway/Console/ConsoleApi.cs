using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using Gateway.Accounts;
using Gateway.Hosting;
using Gateway.Leads;
using Gateway.Operations;
using Gateway.Outbox;
using Gateway.Security;
using Gateway.Sources;
using Microsoft.Extensions.Options;

namespace Gateway.AdminConsole;

// /admin: the console's page and files; /api/v1/admin/{overview,leads,about}: what its pages read beyond the
// accounts, diagnostics and leads APIs (pause/resume, retry and the configuration are those APIs' own routes).
internal static class ConsoleApi
{
    public const string PagePath = "/admin";

    // Scripts, styles, images and calls from this gateway only; nothing inline, no frames, forms post only here.
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(PagePath, Page).AllowAnonymous().WithTags("Console")
            .WithSummary("The web console (HTML): 303 to /admin/login without an admin session");
        routes.MapGet(PagePath + "/assets/{name}", (string name, HttpContext context, ConsoleAssets assets) => Serve(context, assets.Find(name)))
            .AllowAnonymous().WithTags("Console").WithSummary("The console's embedded script and styles");
        routes.MapGet(PagePath + "/assets/i18n/{name}", (string name, HttpContext context, ConsoleAssets assets) => Serve(context, assets.Find("i18n/" + name)))
            .AllowAnonymous().WithTags("Console").WithSummary("The console's message catalogue of one language (uz.json, ru.json, en.json)");

        var api = routes.MapGroup("/api/v1/admin").RequireScope(Scopes.Admin).WithTags("Console");
        api.MapGet("/overview", OverviewAsync);
        api.MapGet("/leads", SearchAsync);
        api.MapGet("/leads/{id:long}", TraceAsync);
        api.MapPost("/leads/replay", ConsoleReplay.LeadsAsync);
        api.MapPost("/submissions/replay", ConsoleReplay.SubmissionsAsync);
        api.MapGet("/about", About);
        return routes;
    }

    // Signed out, the page is the sign-in form's business: nothing of the console is shown before an admin is known.
    private static IResult Page(HttpContext context, ConsoleAssets assets)
    {
        if (!Scopes.IsAdmin(context))
        {
            context.Response.Headers.Location = AdminSignInApi.LoginPath + "?next=" + Uri.EscapeDataString(AdminSignInApi.DefaultNext);
            return Results.StatusCode(StatusCodes.Status303SeeOther);
        }

        return Serve(context, assets.Find("index.html"));
    }

    private static IResult Serve(HttpContext context, ConsoleAsset? asset)
    {
        if (asset is null)
        {
            return Envelope.Fail(StatusCodes.Status404NotFound, "Not found");
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.CacheControl = "no-store";
        // The sign-out form's post must carry this page's origin (see SecurityPipeline).
        headers["Referrer-Policy"] = "same-origin";
        headers.ETag = asset.ETag;
        return Results.Bytes(asset.Content, asset.ContentType);
    }

    // Per account: connection and token, today's and this week's leads, the queue, and leads per hour over the last 24 h.
    // "Today" and "this week" start where the browser says (its own midnight and Monday), else at UTC's.
    private static async Task<IResult> OverviewAsync(
        HttpContext context, AccountRegistry registry, TokenDiagnostics diagnostics, LeadActivityStore activity, AccountTimeZones zones, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var utcToday = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var today = UnixSeconds(context.Request.Query["today"]) ?? utcToday;
        var week = UnixSeconds(context.Request.Query["week"]) ?? utcToday.AddDays(-(((int)utcToday.DayOfWeek + 6) % 7));
        var hourAgo24 = now.AddHours(-24);
        var tokens = (await diagnostics.DescribeAllAsync(cancellationToken)).OfType<JsonObject>().ToDictionary(t => (string?)t["account"] ?? "", StringComparer.Ordinal);

        var list = new JsonArray();
        foreach (var account in registry.All.Where(a => CallerAccount.MaySee(context, a.Key)))
        {
            var token = tokens.TryGetValue(account.Key, out var stored) ? stored.DeepClone() : diagnostics.Describe(account.Key, null);
            var queue = await diagnostics.QueueAsync(account.Key, cancellationToken);
            var day = await activity.CountsSinceAsync(account.Key, today, cancellationToken);
            var seven = await activity.CountsSinceAsync(account.Key, week, cancellationToken);
            list.Add((JsonNode)new JsonObject
            {
                ["domain"] = account.Domain,
                ["default"] = account.IsDefault,
                ["connected"] = (bool?)token["has_token"] == true && (bool?)token["is_valid"] == true,
                ["token"] = token,
                ["queue"] = queue,
                ["today"] = Counts(day),
                ["week"] = Counts(seven),
                ["last_24h"] = Hourly(await activity.HourlyAsync(account.Key, hourAgo24, cancellationToken)),
                ["time_zone"] = (bool?)token["has_token"] == true ? await zones.ZoneOfAsync(account.Key, cancellationToken) : null,
            });
        }

        return Envelope.Ok(new JsonObject { ["now"] = now.ToUnixTimeSeconds(), ["accounts"] = list });
    }

    private static JsonObject Counts(LeadCounts counts) => new()
    {
        ["received"] = counts.Received,
        ["delivered"] = counts.Delivered,
        ["failed"] = counts.Failed,
    };

    // 24 slots, oldest first; a lead still on its way counts as received only.
    private static JsonObject Hourly(IReadOnlyList<HourCount> hours)
    {
        var received = new long[24];
        var failed = new long[24];
        foreach (var hour in hours.Where(h => h.Hour is >= 0 and < 24))
        {
            received[hour.Hour] += hour.Count;
            if (hour.Status == LeadStatus.Failed)
            {
                failed[hour.Hour] += hour.Count;
            }
        }

        return new JsonObject
        {
            ["received"] = new JsonArray([.. received.Select(n => (JsonNode)n)]),
            ["failed"] = new JsonArray([.. failed.Select(n => (JsonNode)n)]),
        };
    }

    // ?status=&source=&from=&to= (Unix seconds) &phone=&email=&name= &before=<id> &limit=, newest first. Phone, email and
    // name are compared through their blind indexes (LeadSearchIndex): exact matches only, and leads stored before the
    // indexes existed are not found by them.
    private static async Task<IResult> SearchAsync(HttpContext context, AccountRegistry registry, LeadActivityStore activity, LeadSearchIndex searchIndex, AccountTimeZones zones, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var query = context.Request.Query;
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        string? status = query["status"].ToString() is { Length: > 0 } s ? s : null;
        if (status is not (null or LeadStatus.Queued or LeadStatus.Delivering or LeadStatus.Delivered or LeadStatus.Failed))
        {
            errors["status"] = "status must be queued, delivering, delivered or failed";
        }

        var from = Bound(query, "from", errors);
        var to = Bound(query, "to", errors);
        long? before = null;
        if (query["before"].ToString() is { Length: > 0 } b)
        {
            if (long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                before = id;
            }
            else
            {
                errors["before"] = "before must be a lead id";
            }
        }

        foreach (var name in new[] { "phone", "email", "name" })
        {
            if (query[name].ToString().Length > 320)
            {
                errors[name] = $"{name} must be at most 320 characters";
            }
        }

        if (errors.Count > 0)
        {
            return Envelope.ValidationFailed(errors);
        }

        var limit = int.TryParse(query["limit"], CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 200) : 50;
        string? source = query["source"].ToString() is { Length: > 0 } named ? named : null;
        var search = new LeadSearch(status, source, from, to, before, limit,
            searchIndex.Phone(Typed(query, "phone")), searchIndex.Email(Typed(query, "email")), searchIndex.Name(Typed(query, "name")));
        var rows = await activity.SearchAsync(account.Key, search, cancellationToken);
        var leads = new JsonArray();
        foreach (var row in rows)
        {
            var lead = LeadView.Describe(row);
            lead["source"] = row.IdempotencyScope;
            leads.Add((JsonNode)lead);
        }

        return Envelope.Ok(new JsonObject
        {
            ["domain"] = account.Domain,
            ["time_zone"] = await zones.ZoneOfAsync(account.Key, cancellationToken),
            ["leads"] = leads,
            ["next_before"] = rows.Count == limit ? rows[^1].Id : null,
            ["sources"] = new JsonArray([.. (await activity.SourcesAsync(account.Key, cancellationToken)).Select(n => (JsonNode)n)]),
        });
    }

    // One lead's way: the stored row, amoCRM's answer or error, the ids with links into the account, and the submission
    // with every text value masked (its shape, field names and numbers stay readable).
    // Then the trace proper: every amoCRM call made for the lead (LeadCallStore), the body last sent for it (masked the
    // same way), and for a form's lead the raw submission (its fields, masked).
    private static async Task<IResult> TraceAsync(
        long id, HttpContext context, AccountRegistry registry, LeadStore store, LeadActivityStore activity, LeadCallStore calls, SubmissionStore submissions,
        AccountTimeZones zones, Contacts.AssignmentStore assignments, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account || await store.GetAsync(account.Key, id, cancellationToken) is not { } row)
        {
            return Envelope.Fail(StatusCodes.Status404NotFound, $"Lead {id} not found");
        }

        var lead = LeadView.Describe(row);
        lead["domain"] = account.Domain;
        lead["source"] = row.IdempotencyScope;
        lead["amo_answer"] = row.AmoAnswer is null ? null : JsonNode.Parse(row.AmoAnswer);
        lead["payload"] = await activity.PayloadAsync(account.Key, id, cancellationToken) is { } payload ? PayloadMask.Mask(JsonNode.Parse(payload)) : null;
        lead["links"] = new JsonObject
        {
            ["lead"] = row.AmoLeadId is { } leadId ? $"https://{account.Domain}/leads/detail/{leadId}" : null,
            ["contact"] = row.AmoContactId is { } contactId ? $"https://{account.Domain}/contacts/detail/{contactId}" : null,
        };
        var made = await calls.ListAsync(account.Key, id, cancellationToken);
        lead["calls"] = new JsonArray([.. made.Select(c => (JsonNode)new JsonObject
        {
            ["at"] = c.At.ToUnixTimeSeconds(),
            ["step"] = c.Step,
            ["method"] = c.Method,
            ["path"] = c.Path,
            ["http_status"] = c.HttpStatus,
            ["duration_ms"] = c.DurationMs,
            ["outcome"] = c.Outcome,
            ["error"] = c.Error,
        })]);
        lead["amo_body"] = made.LastOrDefault(c => c.Step == LeadCallStep.Lead && c.Body is not null)?.Body is { } sent ? PayloadMask.Mask(JsonNode.Parse(sent)) : null;
        lead["submission"] = await submissions.FindByLeadAsync(account.Key, id, cancellationToken) is { } submission ? Submission(submission, submissions) : null;
        lead["time_zone"] = await zones.ZoneOfAsync(account.Key, cancellationToken);

        // Its manager and follow-up task (issue 17), as GET /api/v1/leads/{id} shows them.
        await assignments.AddToAsync(lead, account.Key, id, cancellationToken);

        return Envelope.Ok(lead);
    }

    private static JsonObject Submission(SubmissionRow row, SubmissionStore store)
    {
        var body = store.OpenBody(row);
        var fields = body is null ? null : FormFields.Parse(body, row.ContentType, out _);
        return new JsonObject
        {
            ["id"] = row.Id,
            ["tool"] = row.Tool,
            ["form"] = row.Form,
            ["content_type"] = row.ContentType,
            ["status"] = row.Status,
            ["received_at"] = row.ReceivedAt.ToUnixTimeSeconds(),
            ["bytes"] = body?.Length,
            ["fields"] = fields is null ? null : new JsonArray([.. fields.Select(f => (JsonNode)new JsonObject { ["label"] = f.Label, ["value"] = PayloadMask.MaskText(f.Value) })]),
        };
    }

    private static IResult About(HttpContext context, IOptions<AdminSessionOptions> admin, Data.Database database) => Envelope.Ok(new JsonObject
    {
        ["version"] = typeof(ConsoleApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
        ["database"] = database.Name,
        ["admin_password_set"] = admin.Value.Password is not null,
        ["session_idle_minutes"] = (long)admin.Value.IdleTimeout.TotalMinutes,
        ["signed_in_as"] = context.User.Identity?.Name,
        ["languages"] = new JsonArray([.. ConsoleLanguage.Supported.Select(l => (JsonNode)l)]),
    });

    private static string? Typed(IQueryCollection query, string name) => query[name].ToString() is { Length: > 0 } text ? text : null;

    private static DateTimeOffset? Bound(IQueryCollection query, string name, Dictionary<string, string> errors)
    {
        if (query[name].ToString() is not { Length: > 0 } text)
        {
            return null;
        }

        if (UnixSeconds(text) is { } value)
        {
            return value;
        }

        errors[name] = $"{name} must be a time in Unix seconds";
        return null;
    }

    private static DateTimeOffset? UnixSeconds(string? text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and < 253402300800
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
}

// A stored submission shown without the person in it: every text keeps its first and last character, numbers stay.
internal static class PayloadMask
{
    public static JsonNode? Mask(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, Mask(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Mask)]),
        JsonValue v when v.TryGetValue<string>(out var text) => JsonValue.Create(MaskText(text)),
        _ => node?.DeepClone(),
    };

    public static string MaskText(string text) => text.Length switch
    {
        0 => "",
        < 4 => new string('•', text.Length),
        _ => string.Concat(text.AsSpan(0, 1), new string('•', Math.Min(text.Length - 2, 12)), text.AsSpan(text.Length - 1)),
    };
}
