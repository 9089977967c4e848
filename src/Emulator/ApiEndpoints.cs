using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Emulator;

// amoCRM's /api/v4 as the gateway uses it. Authentication and faults were handled by AmoGate already.
internal static class ApiEndpoints
{
    private const int DefaultPageSize = 50;

    private static readonly HashSet<string> s_noteTypes = new(StringComparer.Ordinal)
    {
        "common", "call_in", "call_out", "service_message", "extended_service_message", "message_cashier",
        "geolocation", "sms_in", "sms_out", "attachment",
    };

    public static IEndpointRouteBuilder MapAmoApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/v4");
        api.MapGet("/account", Account);
        api.MapGet("/leads/pipelines", Pipelines);
        api.MapGet("/leads/pipelines/{id:long}", Pipeline);
        api.MapGet("/leads/custom_fields", (HttpRequest request, EmulatorState state, EmulatorOptions options) => CustomFields(request, state, options, EmulatorSeed.LeadFields));
        api.MapGet("/contacts/custom_fields", (HttpRequest request, EmulatorState state, EmulatorOptions options) => CustomFields(request, state, options, EmulatorSeed.ContactFields));
        api.MapGet("/leads/unsorted", ListUnsorted);
        api.MapPost("/leads/unsorted/forms", AddUnsortedAsync);
        api.MapGet("/leads/notes", (HttpRequest request, EmulatorState state, EmulatorOptions options) => ListNotes(request, state, options, null));
        api.MapGet("/leads/{id:long}/notes", (long id, HttpRequest request, EmulatorState state, EmulatorOptions options) => ListNotes(request, state, options, id));
        api.MapPost("/leads/notes", (HttpContext context, EmulatorState state, EmulatorOptions options) => AddNotesAsync(context, state, options, null));
        api.MapPost("/leads/{id:long}/notes", (long id, HttpContext context, EmulatorState state, EmulatorOptions options) => AddNotesAsync(context, state, options, id));
        api.MapGet("/leads/{id:long}", Lead);
        api.MapGet("/contacts", Contacts);
        api.MapContacts();
        routes.MapFallback("/api/v4/{**path}", AmoResults.NotFound);
        return routes;
    }

    // The account of the bearer (AmoGate let only live tokens through); seeded data is shared, created data is not.
    internal static EmulatorAccount Caller(HttpRequest request, EmulatorState state) =>
        AmoGate.ReadBearer(request) is { } token && state.AccountOf(token) is { } account ? account : state.MainAccount;

    private static IResult Account(HttpRequest request, EmulatorState state)
    {
        var caller = Caller(request, state);
        var account = JsonNode.Parse(EmulatorSeed.AccountJson)!.AsObject();
        account["id"] = caller.Id;
        account["name"] = caller.Subdomain;
        account["subdomain"] = caller.Subdomain;
        account["_links"] = AmoResults.Link(AmoResults.BaseUrl(request) + "/api/v4/account");

        // Like amoCRM, the embedded parts come only when asked for with with=a,b.
        var with = request.Query["with"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var embedded = account["_embedded"]!.AsObject();
        embedded["users_groups"] = TeamEndpoints.GroupsView(state, caller.Id);
        foreach (var part in embedded.Select(p => p.Key).ToList())
        {
            if (!with.Contains(part, StringComparer.Ordinal))
            {
                embedded.Remove(part);
            }
        }

        return AmoResults.Hal(account);
    }

    private static IResult Pipelines(HttpRequest request, EmulatorState state)
    {
        var baseUrl = AmoResults.BaseUrl(request);
        var accountId = Caller(request, state).Id;
        var pipelines = new JsonArray([.. EmulatorSeed.Pipelines.Select(p => RenderPipeline(p, baseUrl, accountId))]);
        return AmoResults.Hal(new JsonObject
        {
            ["_total_items"] = pipelines.Count,
            ["_links"] = AmoResults.Link(baseUrl + "/api/v4/leads/pipelines"),
            ["_embedded"] = new JsonObject { ["pipelines"] = pipelines },
        });
    }

    private static IResult Pipeline(long id, HttpRequest request, EmulatorState state) =>
        EmulatorSeed.FindPipeline(id) is { } pipeline
            ? AmoResults.Hal(RenderPipeline(pipeline, AmoResults.BaseUrl(request), Caller(request, state).Id))
            : AmoResults.NotFound();

    private static JsonObject RenderPipeline(SeedPipeline pipeline, string baseUrl, long accountId)
    {
        var href = baseUrl + "/api/v4/leads/pipelines/" + pipeline.Id.ToString(CultureInfo.InvariantCulture);
        var statuses = new JsonArray();
        foreach (var status in pipeline.Statuses)
        {
            statuses.Add(new JsonObject
            {
                ["id"] = status.Id,
                ["name"] = status.Name,
                ["sort"] = status.Sort,
                ["is_editable"] = status.IsEditable,
                ["pipeline_id"] = pipeline.Id,
                ["color"] = status.Color,
                ["type"] = status.Type,
                ["account_id"] = accountId,
                ["_links"] = AmoResults.Link(href + "/statuses/" + status.Id.ToString(CultureInfo.InvariantCulture)),
            });
        }

        return new JsonObject
        {
            ["id"] = pipeline.Id,
            ["name"] = pipeline.Name,
            ["sort"] = pipeline.Sort,
            ["is_main"] = pipeline.IsMain,
            ["is_unsorted_on"] = true,
            ["is_archive"] = false,
            ["account_id"] = accountId,
            ["_links"] = AmoResults.Link(href),
            ["_embedded"] = new JsonObject { ["statuses"] = statuses },
        };
    }

    private static IResult CustomFields(HttpRequest request, EmulatorState state, EmulatorOptions options, FieldSet fields)
    {
        // filter[type]=x, filter[type][]=x and filter[type][0]=x all narrow by type.
        var types = request.Query
            .Where(q => q.Key == "filter[type]" || q.Key.StartsWith("filter[type][", StringComparison.Ordinal))
            .SelectMany(q => q.Value)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        var matching = types.Count == 0 ? fields.All : [.. fields.All.Where(f => types.Contains(f.Type))];
        var baseUrl = AmoResults.BaseUrl(request);
        var accountId = Caller(request, state).Id;
        return Paginate(request, options, matching, "custom_fields", f => RenderField(f, fields.EntityType, baseUrl, accountId));
    }

    private static JsonObject RenderField(SeedField field, string entityType, string baseUrl, long accountId)
    {
        JsonArray? enums = field.HasEnums
            ? new JsonArray([.. field.Enums.Select(e => new JsonObject { ["id"] = e.Id, ["value"] = e.Value, ["sort"] = e.Sort, ["code"] = e.Code })])
            : null;
        return new JsonObject
        {
            ["id"] = field.Id,
            ["name"] = field.Name,
            ["type"] = field.Type,
            ["account_id"] = accountId,
            ["code"] = field.Code,
            ["sort"] = field.Sort,
            ["is_api_only"] = false,
            ["enums"] = enums,
            ["group_id"] = null,
            ["required_statuses"] = new JsonArray(),
            ["is_deletable"] = !field.IsPredefined,
            ["is_predefined"] = field.IsPredefined,
            ["entity_type"] = entityType,
            ["tracking_callback"] = null,
            ["remind"] = null,
            ["triggers"] = new JsonArray(),
            ["currency"] = null,
            ["hidden_statuses"] = new JsonArray(),
            ["chained_lists"] = null,
            ["_links"] = AmoResults.Link($"{baseUrl}/api/v4/{entityType}/custom_fields/{field.Id.ToString(CultureInfo.InvariantCulture)}"),
        };
    }

    // amoCRM paging: min(limit, max) per page, _links.next on every page but the last, 204 past the end or for nothing.
    // Like amoCRM, _total_items counts the items of this page, not of the whole list.
    // GET /api/v4/leads/unsorted: the caller's items still waiting to be accepted or declined. order[created_at] (or
    // order[updated_at], the same here) asc|desc, filter[uid] (one or an array), filter[category][], filter[pipeline_id].
    private static IResult ListUnsorted(HttpRequest request, EmulatorState state, EmulatorOptions options)
    {
        IEnumerable<UnsortedRecord> items = state.PendingUnsorted(Caller(request, state));
        var uids = QueryValues(request, "filter[uid]");
        if (uids.Count > 0)
        {
            items = items.Where(u => uids.Contains(u.Uid));
        }

        // Only form items exist here: an API client can create forms (and calls, which the emulator does not have).
        var categories = QueryValues(request, "filter[category]");
        if (categories.Count > 0 && !categories.Contains("forms"))
        {
            items = [];
        }

        if (request.Query.ContainsKey("filter[pipeline_id]"))
        {
            var pipeline = ReadLong(request.Query["filter[pipeline_id]"]);
            items = items.Where(u => PipelineOf(u) == pipeline);
        }

        var order = request.Query["order[created_at]"].ToString() is { Length: > 0 } byCreated ? byCreated : request.Query["order[updated_at]"].ToString();
        var ordered = string.Equals(order, "desc", StringComparison.OrdinalIgnoreCase)
            ? items.Select((u, i) => (u, i)).OrderByDescending(x => x.u.CreatedAt).ThenByDescending(x => x.i).Select(x => x.u).ToList()
            : items.OrderBy(u => u.CreatedAt).ToList();
        var baseUrl = AmoResults.BaseUrl(request);
        return Paginate(request, options, ordered, "unsorted", u => RenderUnsorted(u, baseUrl));
    }

    private static long PipelineOf(UnsortedRecord item) =>
        JsonRead.TryGetInteger(item.Item["pipeline_id"], out var id) ? id : EmulatorSeed.MainPipelineId;

    private static JsonObject RenderUnsorted(UnsortedRecord item, string baseUrl)
    {
        var contacts = new JsonArray();
        if (item.ContactId is { } contactId)
        {
            contacts.Add(new JsonObject
            {
                ["id"] = contactId,
                ["_links"] = AmoResults.Link(baseUrl + "/api/v4/contacts/" + contactId.ToString(CultureInfo.InvariantCulture)),
            });
        }

        return new JsonObject
        {
            ["uid"] = item.Uid,
            ["source_uid"] = item.SourceUid,
            ["source_name"] = item.Item["source_name"]?.DeepClone(),
            ["category"] = "forms",
            ["pipeline_id"] = PipelineOf(item),
            ["created_at"] = item.CreatedAt,
            ["metadata"] = item.Item["metadata"]?.DeepClone(),
            ["account_id"] = item.AccountId,
            ["_links"] = AmoResults.Link(baseUrl + "/api/v4/leads/unsorted/" + item.Uid),
            ["_embedded"] = new JsonObject
            {
                ["contacts"] = contacts,
                ["leads"] = new JsonArray(new JsonObject
                {
                    ["id"] = item.LeadId,
                    ["_links"] = AmoResults.Link(baseUrl + "/api/v4/leads/" + item.LeadId.ToString(CultureInfo.InvariantCulture)),
                }),
                ["companies"] = new JsonArray(),
            },
        };
    }

    // GET /api/v4/leads/{id}/notes, or /api/v4/leads/notes with filter[entity_id] (one or an array); filter[note_type]
    // (one or an array), filter[id]; oldest first unless order[id]=desc (or order[updated_at]=desc).
    private static IResult ListNotes(HttpRequest request, EmulatorState state, EmulatorOptions options, long? leadId)
    {
        var caller = Caller(request, state);
        if (leadId is { } id && !state.LeadExists(id, caller))
        {
            return AmoResults.NotFound();
        }

        IEnumerable<NoteRecord> notes = state.NotesOf(caller);
        if (leadId is { } only)
        {
            notes = notes.Where(n => n.EntityId == only);
        }

        var entities = QueryValues(request, "filter[entity_id]");
        if (entities.Count > 0)
        {
            notes = notes.Where(n => entities.Contains(n.EntityId.ToString(CultureInfo.InvariantCulture)));
        }

        var ids = QueryValues(request, "filter[id]");
        if (ids.Count > 0)
        {
            notes = notes.Where(n => ids.Contains(n.Id.ToString(CultureInfo.InvariantCulture)));
        }

        var types = QueryValues(request, "filter[note_type]");
        if (types.Count > 0)
        {
            notes = notes.Where(n => types.Contains(n.NoteType));
        }

        var descending = string.Equals(request.Query["order[id]"].ToString(), "desc", StringComparison.OrdinalIgnoreCase)
            || string.Equals(request.Query["order[updated_at]"].ToString(), "desc", StringComparison.OrdinalIgnoreCase);
        var ordered = (descending ? notes.OrderByDescending(n => n.Id) : notes.OrderBy(n => n.Id)).ToList();
        var baseUrl = AmoResults.BaseUrl(request);
        return Paginate(request, options, ordered, "notes", n => new JsonObject
        {
            ["id"] = n.Id,
            ["entity_id"] = n.EntityId,
            ["created_by"] = 0,
            ["updated_by"] = 0,
            ["created_at"] = n.CreatedAt,
            ["updated_at"] = n.CreatedAt,
            ["responsible_user_id"] = 581651,
            ["group_id"] = 0,
            ["note_type"] = n.NoteType,
            ["params"] = n.Text is null ? new JsonObject() : new JsonObject { ["text"] = n.Text },
            ["account_id"] = caller.Id,
            ["_links"] = AmoResults.Link(string.Create(CultureInfo.InvariantCulture, $"{baseUrl}/api/v4/leads/{n.EntityId}/notes/{n.Id}")),
        });
    }

    // key=x, key[]=x and key[0]=x alike, as amoCRM reads PHP-style arrays.
    internal static HashSet<string> QueryValues(HttpRequest request, string key) =>
        request.Query
            .Where(q => q.Key == key || (q.Key.StartsWith(key + "[", StringComparison.Ordinal) && q.Key.EndsWith(']')))
            .SelectMany(q => q.Value)
            .OfType<string>()
            .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToHashSet(StringComparer.Ordinal);

    internal static long? ReadLong(string? text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    internal static IResult Paginate<T>(HttpRequest request, EmulatorOptions options, IReadOnlyList<T> items, string embeddedKey, Func<T, JsonNode> render)
    {
        var page = Math.Max(1, ReadInt(request.Query["page"], 1));
        var limit = ReadInt(request.Query["limit"], DefaultPageSize);
        limit = Math.Min(limit < 1 ? DefaultPageSize : limit, Math.Max(1, options.MaxPageSize));
        var pageCount = (items.Count + limit - 1) / limit;
        if (page > pageCount)
        {
            return AmoResults.NoContent();
        }

        var slice = new JsonArray([.. items.Skip((page - 1) * limit).Take(limit).Select(render)]);
        var links = new JsonObject { ["self"] = new JsonObject { ["href"] = PageHref(request, limit, page) } };
        if (page < pageCount)
        {
            links["next"] = new JsonObject { ["href"] = PageHref(request, limit, page + 1) };
        }

        links["last"] = new JsonObject { ["href"] = PageHref(request, limit, pageCount) };
        return AmoResults.Hal(new JsonObject
        {
            ["_total_items"] = slice.Count,
            ["_page"] = page,
            ["_page_count"] = pageCount,
            ["_links"] = links,
            ["_embedded"] = new JsonObject { [embeddedKey] = slice },
        });
    }

    // Keeps the request's other parameters (filters, query) so following next gives the same list.
    private static string PageHref(HttpRequest request, int limit, int page)
    {
        var builder = new StringBuilder(AmoResults.BaseUrl(request)).Append(request.Path.Value).Append('?');
        foreach (var (key, values) in request.Query)
        {
            if (key is "page" or "limit")
            {
                continue;
            }

            foreach (var value in values)
            {
                builder.Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value ?? "")).Append('&');
            }
        }

        return builder.Append("limit=").Append(limit.ToString(CultureInfo.InvariantCulture))
            .Append("&page=").Append(page.ToString(CultureInfo.InvariantCulture)).ToString();
    }

    private static int ReadInt(string? text, int fallback) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private static async Task<IResult> AddUnsortedAsync(HttpContext context, EmulatorState state, EmulatorOptions options)
    {
        var (items, error) = await ReadBatchAsync(context, options);
        if (items is null)
        {
            return error!;
        }

        var failed = new List<ItemValidation>();
        var plans = new List<UnsortedPlan>();
        for (var i = 0; i < items.Count; i++)
        {
            var validation = new ItemValidation(ItemKey(items[i], i));
            if (UnsortedForms.Validate(items[i], validation) is { } plan && validation.IsValid)
            {
                plans.Add(plan);
            }
            else
            {
                failed.Add(validation);
            }
        }

        var caller = Caller(context.Request, state);
        for (var i = 0; i < items.Count && failed.Count == 0; i++)
        {
            // Leads go only to an active user of the account (the lead validated above, so the shape is known).
            if (items[i]?["_embedded"]?["leads"]?[0]?["responsible_user_id"] is { } responsible
                && (!JsonRead.TryGetInteger(responsible, out var userId) || !state.Team.IsAssignable(caller.Id, userId)))
            {
                var validation = new ItemValidation(ItemKey(items[i], i));
                validation.NotSupportedChoice("_embedded.leads.0.responsible_user_id");
                failed.Add(validation);
            }
        }

        if (failed.Count > 0)
        {
            return AmoResults.ValidationFailed(failed);
        }

        var baseUrl = AmoResults.BaseUrl(context.Request);
        var answers = new JsonArray();
        var createdItems = state.CreateUnsorted(plans, caller);
        if (state.RollLostAnswer(context.Request.Path.Value ?? "") is { } lost)
        {
            return new LostAnswerResult(lost);
        }

        foreach (var created in createdItems)
        {
            var contacts = new JsonArray();
            if (created.ContactId is { } contactId)
            {
                contacts.Add(new JsonObject
                {
                    ["id"] = contactId,
                    ["_links"] = AmoResults.Link(baseUrl + "/api/v4/contacts/" + contactId.ToString(CultureInfo.InvariantCulture)),
                });
            }

            var answer = new JsonObject { ["uid"] = created.Uid, ["account_id"] = caller.Id };
            if (created.RequestId is not null)
            {
                answer["request_id"] = created.RequestId;
            }

            answer["_links"] = AmoResults.Link(baseUrl + "/api/v4/leads/unsorted/" + created.Uid);
            answer["_embedded"] = new JsonObject
            {
                ["contacts"] = contacts,
                ["leads"] = new JsonArray(new JsonObject
                {
                    ["id"] = created.LeadId,
                    ["_links"] = AmoResults.Link(baseUrl + "/api/v4/leads/" + created.LeadId.ToString(CultureInfo.InvariantCulture)),
                }),
                ["companies"] = new JsonArray(),
            };
            answers.Add(answer);
        }

        return AmoResults.Hal(new JsonObject
        {
            ["_total_items"] = answers.Count,
            ["_embedded"] = new JsonObject { ["unsorted"] = answers },
        });
    }

    private static async Task<IResult> AddNotesAsync(HttpContext context, EmulatorState state, EmulatorOptions options, long? leadId)
    {
        var (items, error) = await ReadBatchAsync(context, options);
        if (items is null)
        {
            return error!;
        }

        var failed = new List<ItemValidation>();
        var plans = new List<NotePlan>();
        for (var i = 0; i < items.Count; i++)
        {
            var key = ItemKey(items[i], i);
            var validation = new ItemValidation(key);
            if (ValidateNote(items[i], leadId, state, Caller(context.Request, state), validation) is { } note && validation.IsValid)
            {
                plans.Add(note with { RequestId = JsonRead.RequestId(items[i]?["request_id"]) });
            }
            else
            {
                failed.Add(validation);
            }
        }

        if (failed.Count > 0)
        {
            return AmoResults.ValidationFailed(failed);
        }

        var baseUrl = AmoResults.BaseUrl(context.Request);
        var notes = new JsonArray();
        var created = state.CreateNotes(plans);
        if (state.RollLostAnswer(context.Request.Path.Value ?? "") is { } lost)
        {
            return new LostAnswerResult(lost);
        }

        for (var i = 0; i < created.Count; i++)
        {
            var note = created[i];
            notes.Add(new JsonObject
            {
                ["id"] = note.Id,
                ["entity_id"] = note.EntityId,
                ["request_id"] = note.RequestId ?? i.ToString(CultureInfo.InvariantCulture),
                ["_links"] = AmoResults.Link(string.Create(CultureInfo.InvariantCulture, $"{baseUrl}/api/v4/leads/{note.EntityId}/notes/{note.Id}")),
            });
        }

        return AmoResults.Hal(new JsonObject
        {
            ["_links"] = AmoResults.Link(baseUrl + context.Request.Path.Value),
            ["_embedded"] = new JsonObject { ["notes"] = notes },
        });
    }

    private static NotePlan? ValidateNote(JsonNode? node, long? leadId, EmulatorState state, EmulatorAccount account, ItemValidation v)
    {
        if (node is not JsonObject item)
        {
            v.InvalidType("", "object");
            return null;
        }

        long entityId = 0;
        if (leadId is { } fromRoute)
        {
            entityId = fromRoute;
        }
        else if (JsonRead.IsMissing(item["entity_id"]))
        {
            v.FieldMissing("entity_id");
        }
        else if (!JsonRead.TryGetInteger(item["entity_id"], out entityId))
        {
            v.InvalidType("entity_id", "int");
        }

        if (v.IsValid && !state.LeadExists(entityId, account))
        {
            v.NotSupportedChoice("entity_id");
        }

        string? noteType = null;
        if (JsonRead.IsMissing(item["note_type"]))
        {
            v.FieldMissing("note_type");
        }
        else if (!JsonRead.TryGetString(item["note_type"], out var type))
        {
            v.InvalidType("note_type", "string");
        }
        else if (!s_noteTypes.Contains(type))
        {
            v.NotSupportedChoice("note_type");
        }
        else
        {
            noteType = type;
        }

        string? text = null;
        var parameters = item["params"];
        if (!JsonRead.IsMissing(parameters) && parameters is not JsonObject)
        {
            v.InvalidType("params", "object");
        }
        else if (parameters is JsonObject paramsObject && !JsonRead.IsMissing(paramsObject["text"]) && !JsonRead.TryGetString(paramsObject["text"], out text))
        {
            v.InvalidType("params.text", "string");
        }

        if (noteType == "common" && text is null)
        {
            v.FieldMissing("params.text");
        }
        else if (noteType == "common" && string.IsNullOrWhiteSpace(text))
        {
            v.NotBlank("params.text");
        }

        return noteType is null ? null : new NotePlan(entityId, noteType, text, null);
    }

    private static IResult Lead(long id, HttpRequest request, EmulatorState state)
    {
        if (state.FindLeadView(id, Caller(request, state)) is not { } lead)
        {
            return AmoResults.NotFound();
        }

        lead["_links"] = AmoResults.Link(AmoResults.BaseUrl(request) + "/api/v4/leads/" + id.ToString(CultureInfo.InvariantCulture));
        return AmoResults.Hal(lead);
    }

    private static IResult Contacts(HttpRequest request, EmulatorState state, EmulatorOptions options)
    {
        var baseUrl = AmoResults.BaseUrl(request);
        return Paginate(request, options, state.FindContacts(request.Query["query"].ToString(), Caller(request, state)), "contacts", contact =>
        {
            contact["_links"] = AmoResults.Link(baseUrl + "/api/v4/contacts/" + contact["id"]!.ToJsonString());
            return contact;
        });
    }

    internal static string ItemKey(JsonNode? item, int index) =>
        (item as JsonObject)?["request_id"] is { } id && JsonRead.RequestId(id) is { } key ? key : index.ToString(CultureInfo.InvariantCulture);

    // A batch body: a JSON array of 1..MaxBatchSize items.
    internal static async Task<(JsonArray? Items, IResult? Error)> ReadBatchAsync(HttpContext context, EmulatorOptions options)
    {
        using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
        var node = JsonRead.TryParse(await reader.ReadToEndAsync(context.RequestAborted));
        if (node is not JsonArray items)
        {
            return (null, AmoResults.BadRequest("Request body must be a JSON array of entities"));
        }

        if (items.Count == 0)
        {
            return (null, AmoResults.BadRequest("Request body contains no entities"));
        }

        if (items.Count > options.MaxBatchSize)
        {
            return (null, AmoResults.BadRequest(string.Create(
                CultureInfo.InvariantCulture, $"Too many entities in one request: {items.Count}, at most {options.MaxBatchSize}")));
        }

        return (items, null);
    }
}

// The work is done; the answer is not delivered: held until the client gives up, the connection reset, or a proxy's
// 5xx page in its place.
internal sealed class LostAnswerResult(string mode) : IResult
{
    // However patient a client is, the emulator does not hold a request for ever.
    private static readonly TimeSpan LongestHold = TimeSpan.FromMinutes(5);

    public async Task ExecuteAsync(HttpContext context)
    {
        switch (mode)
        {
            case LostAnswer.Timeout:
                // When the client gives up, the cancellation reaches AmoGate, which records the request with status 0.
                await Task.Delay(LongestHold, TimeProvider.System, context.RequestAborted);
                AmoGate.Abort(context);
                break;
            case LostAnswer.Reset:
                AmoGate.Abort(context);
                break;
            default:
                await AmoResults.Nginx(int.Parse(mode, CultureInfo.InvariantCulture)).ExecuteAsync(context);
                break;
        }
    }
}
