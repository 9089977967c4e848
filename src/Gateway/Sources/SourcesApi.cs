using System.Text;
using System.Text.Json.Nodes;
using Gateway.Accounts;
using Gateway.Amo;
using Gateway.Hosting;
using Gateway.Leads;
using Gateway.Security;

namespace Gateway.Sources;

// /api/v1/admin/sources: the console's Sources page. The hooks and the keys to paste into each tool, the form profiles
// (SOURCES_FILE's read-only, the console's saved in the database), and a preview: a body as a tool would send it, or a
// stored submission, through the real mapping to the amoCRM item it would become, with nothing stored or sent.
// Only an admin not bound to an account: a profile and a key list span the accounts.
internal static class SourcesApi
{
    public static RouteGroupBuilder MapSources(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/admin/sources").RequireScope(Scopes.Admin).WithTags("Form webhooks");
        group.MapGet("/", List).WithSummary("The hooks, the keys to paste into them (names only; not admin keys) and every form profile");
        group.MapPut("/profiles", SaveAsync).WithSummary("Save a form profile (one per source and form) in the database");
        group.MapDelete("/profiles", RemoveAsync).WithSummary("Remove a saved form profile: ?source=&form=");
        group.MapPost("/preview", PreviewAsync).WithSummary("What a body or a stored submission would become, stored and sent nowhere");
        return group;
    }

    private static IResult List(HttpContext context, SourceProfiles profiles, ApiKeyRing keys)
    {
        if (BoundRefusal(context) is { } refused)
        {
            return refused;
        }

        // A hook URL is pasted into a form tool's settings, often seen by more people than the admin: admin keys
        // (API_KEY among them) are left out, a key for leads (and read) is the one to paste.
        var senders = new JsonArray();
        foreach (var key in keys.Keys.Where(k => k.Scopes.Contains(Scopes.Leads) && !k.IsAdmin))
        {
            senders.Add((JsonNode)new JsonObject { ["name"] = key.Name, ["origin"] = key.Origin, ["account"] = key.Account });
        }

        return Envelope.Ok(new JsonObject
        {
            ["tools"] = new JsonArray([.. HookKeyInPath.Tools.Select(t => (JsonNode)t)]),
            ["keys"] = senders,
            ["profiles"] = new JsonArray([.. profiles.Current.Select(p => (JsonNode)Describe(p))]),
        });
    }

    private static async Task<IResult> SaveAsync(HttpContext context, SourceProfiles profiles, StoredSourceProfiles stored, AccountRegistry registry, CancellationToken cancellationToken)
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

        SourceProfile profile;
        try
        {
            profile = StoredSourceProfiles.Check(body.Root);
        }
        catch (SourcesFileException ex)
        {
            return Invalid(ex.Message);
        }

        if (profile.Account is { } account && registry.Known(account) is null)
        {
            return Invalid($"profile.account \"{account}\" is not a configured account");
        }

        if (profiles.FileProfiles.Any(p => p.Id == profile.Id))
        {
            return Envelope.Fail(StatusCodes.Status409Conflict, $"SOURCES_FILE has a profile for {Title(profile)}; change it there", new Dictionary<string, string> { ["origin"] = "file" });
        }

        await stored.SaveAsync(profile, cancellationToken);
        return Envelope.Ok(Describe(profile), $"Profile for {Title(profile)} saved");
    }

    private static async Task<IResult> RemoveAsync(HttpContext context, SourceProfiles profiles, StoredSourceProfiles stored, CancellationToken cancellationToken)
    {
        if (BoundRefusal(context) is { } refused)
        {
            return refused;
        }

        var tool = context.Request.Query["source"].ToString().ToLowerInvariant();
        var form = context.Request.Query["form"].ToString() is { Length: > 0 } f ? f : null;
        var id = tool + "|" + (form?.ToLowerInvariant() ?? "*");
        if (profiles.FileProfiles.Any(p => p.Id == id))
        {
            return Envelope.Fail(StatusCodes.Status409Conflict, "This profile is in SOURCES_FILE; change it there", new Dictionary<string, string> { ["origin"] = "file" });
        }

        return await stored.RemoveAsync(id, cancellationToken)
            ? Envelope.Ok(new JsonObject { ["source"] = tool, ["form"] = form }, "Profile removed")
            : Envelope.Fail(StatusCodes.Status404NotFound, "Profile not found");
    }

    // {"source":"tilda","body":"Name=…&Phone=…","content_type":"application/x-www-form-urlencoded","form":"…","key":"…",
    //  "profile":{…}} or {"submission_id":12,"profile":{…}}: a profile given here is tried before the saved ones.
    private static async Task<IResult> PreviewAsync(
        HttpContext context, AccountRegistry registry, SourceProfiles profiles, SubmissionStore submissions, ApiKeyRing keys,
        LeadPreparation preparation, LeadFieldLookup lookup, TimeProvider time, CancellationToken cancellationToken)
    {
        if (BoundRefusal(context) is { } refused)
        {
            return refused;
        }

        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var read = await JsonBody.ReadAsync(context);
        if (read.Error is not null)
        {
            return read.Error;
        }

        if (read.Root is not JsonObject request)
        {
            return Invalid("The body must be {\"source\": \"tilda\", \"body\": \"…\"} or {\"submission_id\": 1}");
        }

        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var candidates = profiles.Current;
        if (request["profile"] is JsonObject tried)
        {
            try
            {
                candidates = [StoredSourceProfiles.Check(tried), .. candidates];
            }
            catch (SourcesFileException ex)
            {
                errors["profile"] = ex.Message;
            }
        }

        string? tool;
        byte[] sent;
        string? contentType;
        string? formHint;
        string? keyName;
        if (request["submission_id"] is JsonValue idNode && idNode.TryGetValue<long>(out var submissionId))
        {
            if (await submissions.GetAsync(account.Key, submissionId, cancellationToken) is not { } row)
            {
                return Envelope.Fail(StatusCodes.Status404NotFound, $"Submission {submissionId} not found");
            }

            if (submissions.OpenBody(row) is not { } opened)
            {
                return Invalid("the stored body cannot be decrypted with this key ring");
            }

            (tool, sent, contentType, formHint, keyName) = (row.Tool, opened, row.ContentType, row.Form, row.KeyName);
        }
        else
        {
            tool = Text(request, "source")?.ToLowerInvariant();
            if (tool is null || !HookKeyInPath.Tools.Contains(tool))
            {
                errors["source"] = "source must be one of " + string.Join(", ", HookKeyInPath.Tools);
            }

            if (Text(request, "body") is not { } text)
            {
                errors["body"] = "body is required: the submission as the tool sends it (form-encoded or JSON)";
                text = "";
            }

            sent = Encoding.UTF8.GetBytes(text);
            contentType = Text(request, "content_type") ?? (text.TrimStart().StartsWith('{') ? "application/json" : "application/x-www-form-urlencoded");
            formHint = Text(request, "form");
            keyName = Text(request, "key");
        }

        if (errors.Count > 0 || tool is null)
        {
            return Envelope.ValidationFailed(errors);
        }

        var key = keyName is null || keyName == ApiKeyEntry.DefaultName ? null : keys.Keys.FirstOrDefault(k => k.Name == keyName);
        var answer = new JsonObject { ["source"] = tool, ["account"] = account.Domain };
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        if (FormFields.Parse(sent, contentType, out var unreadable) is not { } fields)
        {
            problems["body"] = unreadable!;
            answer["problems"] = Problems(problems);
            return Envelope.Ok(answer);
        }

        var mapped = FormMapper.Map(tool, fields, candidates, formHint);
        answer["form"] = mapped.Form;
        answer["profile"] = mapped.Profile is { } used ? Describe(used) : null;
        answer["lead_body"] = mapped.Body.DeepClone();
        if (mapped.Profile?.Account is { } wanted && wanted != account.Key)
        {
            problems["profile"] = $"the profile for this form is for account {wanted}, but the preview is for {account.Key}";
        }
        else if (preparation.Prepare(mapped.Body, key, account, problems, SourceTool.Title(tool)) is { } lead)
        {
            var context2 = await lookup.ForAsync(account.Key, [lead], AmoCallClass.Lookup, cancellationToken);
            if (context2.Failed is { } failed)
            {
                problems["fields"] = "the account's field lists could not be read: " + failed.Description;
            }

            var item = AmoLeadMapper.Map(lead, "preview", context2.Context, time.GetUtcNow(), null);
            answer["amo_item"] = item.Item.DeepClone();
            answer["note"] = item.NoteText;
            foreach (var (at, problem) in item.Problems)
            {
                problems[at] = problem;
            }
        }

        answer["would_be"] = problems.ContainsKey("profile") || answer["amo_item"] is null ? SubmissionStatus.Rejected : SubmissionStatus.Accepted;
        answer["problems"] = Problems(problems);
        return Envelope.Ok(answer);
    }

    private static JsonObject Problems(Dictionary<string, string> problems) =>
        new(problems.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));

    private static JsonObject Describe(SourceProfile profile) => new()
    {
        ["id"] = profile.Id,
        ["origin"] = profile.Origin,
        ["editable"] = profile.Origin == StoredSourceProfiles.Origin,
        ["profile"] = SourcesFile.ToJson(profile),
    };

    private static string Title(SourceProfile profile) => profile.Form is null ? profile.Tool : $"{profile.Tool} form {profile.Form}";

    private static string? Text(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static IResult Invalid(string problem) => Envelope.ValidationFailed(new Dictionary<string, string> { ["profile"] = problem });

    private static IResult? BoundRefusal(HttpContext context) =>
        ApiKeyCaller.Get(context)?.Account is not null
            ? Envelope.Fail(StatusCodes.Status403Forbidden, "Only an admin not bound to an account may manage form sources")
            : null;
}
