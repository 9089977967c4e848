using System.Globalization;
using System.Text.Json.Nodes;

namespace Emulator;

// Contacts by id, created and updated; leads created directly (leads/complex, POST /leads) and listed; the control
// endpoints that seed and merge contacts. Facts beyond shared/amocrm-api.md are marked unverified in the README.
internal static class ContactEndpoints
{
    // amocrm-api.md: leads/complex takes at most 50 leads per request.
    public const int MaxComplexBatch = 50;

    public static IEndpointRouteBuilder MapContacts(this IEndpointRouteBuilder api)
    {
        api.MapGet("/contacts/{id:long}", (long id, HttpRequest request, EmulatorState state) =>
        {
            var withLeads = request.Query["with"].ToString().Split(',', StringSplitOptions.TrimEntries).Contains("leads", StringComparer.Ordinal);
            return state.FindContact(id, ApiEndpoints.Caller(request, state), withLeads) is { } contact
                ? AmoResults.Hal(WithLink(contact, request))
                : AmoResults.NotFound();
        });
        api.MapPost("/contacts", AddContactsAsync);
        api.MapPatch("/contacts", UpdateContactsAsync);
        api.MapPost("/leads/complex", (HttpContext context, EmulatorState state, EmulatorOptions options) => AddLeadsAsync(context, state, options, complex: true));
        api.MapPost("/leads", (HttpContext context, EmulatorState state, EmulatorOptions options) => AddLeadsAsync(context, state, options, complex: false));
        api.MapGet("/leads", ListLeads);
        return api;
    }

    public static IEndpointRouteBuilder MapContactControl(this IEndpointRouteBuilder routes)
    {
        var control = routes.MapGroup("/_emulator");

        // {"name":"…","phones":["…"],"emails":["…"],"responsible_user_id":N,"updated_at":unix} → {"id":N}; ?account= as for stats.
        control.MapPost("/contacts", async (HttpRequest request, EmulatorState state) =>
        {
            if (ChosenAccount(request, state) is not { } account)
            {
                return AmoResults.BadRequest("Unknown account");
            }

            var body = JsonRead.TryParse(await new StreamReader(request.Body).ReadToEndAsync(request.HttpContext.RequestAborted)) as JsonObject;
            if (body is null || JsonRead.AsScalarText(body["name"]) is not { } name)
            {
                return AmoResults.BadRequest("A contact needs a name");
            }

            IReadOnlyList<string> Texts(string key) => (body[key] as JsonArray ?? []).Select(JsonRead.AsScalarText).OfType<string>().ToList();
            long? Long(string key) => JsonRead.TryGetInteger(body[key], out var value) ? value : null;
            var id = state.SeedContact(account, name, Texts("phones"), Texts("emails"), Long("responsible_user_id"), Long("updated_at"));
            return AmoResults.PlainJson(new JsonObject { ["id"] = id });
        });

        // {"winner":N,"loser":M}: the loser's values and leads move to the winner; the loser's id then answers 404.
        control.MapPost("/contacts/merge", async (HttpRequest request, EmulatorState state) =>
        {
            var body = JsonRead.TryParse(await new StreamReader(request.Body).ReadToEndAsync(request.HttpContext.RequestAborted)) as JsonObject;
            if (ChosenAccount(request, state) is not { } account
                || !JsonRead.TryGetInteger(body?["winner"], out var winner) || !JsonRead.TryGetInteger(body?["loser"], out var loser))
            {
                return AmoResults.BadRequest("winner and loser are contact ids of a known account");
            }

            return state.MergeContacts(account, winner, loser) ? Results.NoContent() : AmoResults.NotFound();
        });

        control.MapGet("/contacts", (HttpRequest request, EmulatorState state) => ChosenAccount(request, state) is { } account
            ? AmoResults.PlainJson(new JsonArray([.. state.FindContacts(null, account)]))
            : AmoResults.BadRequest("Unknown account"));

        // Any lead's view, whoever created it (tests read links and statuses without a token).
        control.MapGet("/leads", (HttpRequest request, EmulatorState state) => ChosenAccount(request, state) is { } account
            ? AmoResults.PlainJson(new JsonArray([.. state.FindLeads(account, null, null, new HashSet<string>())]))
            : AmoResults.BadRequest("Unknown account"));
        return routes;
    }

    private static EmulatorAccount? ChosenAccount(HttpRequest request, EmulatorState state) =>
        request.Query["account"].ToString() is { Length: > 0 } chosen ? state.FindAccount(chosen) : state.MainAccount;

    private static JsonObject WithLink(JsonObject contact, HttpRequest request)
    {
        contact["_links"] = AmoResults.Link(AmoResults.BaseUrl(request) + "/api/v4/contacts/" + contact["id"]!.ToJsonString());
        return contact;
    }

    private static async Task<IResult> AddContactsAsync(HttpContext context, EmulatorState state, EmulatorOptions options)
    {
        var (items, error) = await ApiEndpoints.ReadBatchAsync(context, options);
        if (items is null)
        {
            return error!;
        }

        var failed = new List<ItemValidation>();
        var plans = new List<(ContactPlan, long?)>();
        for (var i = 0; i < items.Count; i++)
        {
            var v = new ItemValidation(ApiEndpoints.ItemKey(items[i], i));
            if (items[i] is not JsonObject item)
            {
                v.InvalidType("", "object");
                failed.Add(v);
                continue;
            }

            var plan = UnsortedForms.ValidateContact(item, "", v);
            if (v.IsValid)
            {
                plans.Add((plan, JsonRead.TryGetInteger(item["responsible_user_id"], out var r) ? r : null));
            }
            else
            {
                failed.Add(v);
            }
        }

        if (failed.Count > 0)
        {
            return AmoResults.ValidationFailed(failed);
        }

        var ids = state.CreateContacts(plans, ApiEndpoints.Caller(context.Request, state));
        var baseUrl = AmoResults.BaseUrl(context.Request);
        var answers = new JsonArray();
        for (var i = 0; i < ids.Count; i++)
        {
            answers.Add(new JsonObject
            {
                ["id"] = ids[i],
                ["request_id"] = ApiEndpoints.ItemKey(items[i], i),
                ["_links"] = AmoResults.Link(baseUrl + "/api/v4/contacts/" + ids[i].ToString(CultureInfo.InvariantCulture)),
            });
        }

        return AmoResults.Hal(new JsonObject { ["_links"] = AmoResults.Link(baseUrl + "/api/v4/contacts"), ["_embedded"] = new JsonObject { ["contacts"] = answers } });
    }

    private static async Task<IResult> UpdateContactsAsync(HttpContext context, EmulatorState state, EmulatorOptions options)
    {
        var (items, error) = await ApiEndpoints.ReadBatchAsync(context, options);
        if (items is null)
        {
            return error!;
        }

        var failed = new List<ItemValidation>();
        var updates = new List<(long, JsonArray?, string?)>();
        for (var i = 0; i < items.Count; i++)
        {
            var v = new ItemValidation(ApiEndpoints.ItemKey(items[i], i));
            if (items[i] is not JsonObject item || !JsonRead.TryGetInteger(item["id"], out var id))
            {
                v.FieldMissing("id");
                failed.Add(v);
                continue;
            }

            var fields = UnsortedForms.ValidateCustomFields(item["custom_fields_values"], EmulatorSeed.ContactFields, "custom_fields_values", v);
            if (v.IsValid)
            {
                updates.Add((id, fields, JsonRead.AsScalarText(item["name"])));
            }
            else
            {
                failed.Add(v);
            }
        }

        if (failed.Count > 0)
        {
            return AmoResults.ValidationFailed(failed);
        }

        var caller = ApiEndpoints.Caller(context.Request, state);
        if (!state.UpdateContacts(updates, caller))
        {
            return AmoResults.NotFound();
        }

        var baseUrl = AmoResults.BaseUrl(context.Request);
        return AmoResults.Hal(new JsonObject
        {
            ["_links"] = AmoResults.Link(baseUrl + "/api/v4/contacts"),
            ["_embedded"] = new JsonObject
            {
                ["contacts"] = new JsonArray([.. updates.Select(u => (JsonNode)new JsonObject { ["id"] = u.Item1, ["updated_at"] = state.Now.ToUnixTimeSeconds() })]),
            },
        });
    }

    private static async Task<IResult> AddLeadsAsync(HttpContext context, EmulatorState state, EmulatorOptions options, bool complex)
    {
        var (items, error) = await ApiEndpoints.ReadBatchAsync(context, options);
        if (items is null)
        {
            return error!;
        }

        if (complex && items.Count > MaxComplexBatch)
        {
            return AmoResults.BadRequest(string.Create(CultureInfo.InvariantCulture, $"Too many entities in one request: {items.Count}, at most {MaxComplexBatch}"));
        }

        var caller = ApiEndpoints.Caller(context.Request, state);
        var failed = new List<ItemValidation>();
        var plans = new List<DirectLeadPlan>();
        for (var i = 0; i < items.Count; i++)
        {
            var v = new ItemValidation(ApiEndpoints.ItemKey(items[i], i));
            if (ValidateLead(items[i], complex, caller, state, v) is { } plan && v.IsValid)
            {
                plans.Add(plan);
            }
            else
            {
                failed.Add(v);
            }
        }

        if (failed.Count > 0)
        {
            return AmoResults.ValidationFailed(failed);
        }

        var created = state.CreateLeads(plans, caller);
        if (state.RollLostAnswer(context.Request.Path.Value ?? "") is { } lost)
        {
            return new LostAnswerResult(lost);
        }

        var baseUrl = AmoResults.BaseUrl(context.Request);
        if (complex)
        {
            // amocrm-api.md: a top-level array; merged says amoCRM's duplicate control merged the contact (never here).
            return AmoResults.PlainJson(new JsonArray([.. created.Select((c, i) => (JsonNode)new JsonObject
            {
                ["id"] = c.LeadId,
                ["contact_id"] = c.ContactId,
                ["company_id"] = null,
                ["request_id"] = new JsonArray(plans[i].RequestId ?? i.ToString(CultureInfo.InvariantCulture)),
                ["merged"] = false,
            })]));
        }

        return AmoResults.Hal(new JsonObject
        {
            ["_links"] = AmoResults.Link(baseUrl + "/api/v4/leads"),
            ["_embedded"] = new JsonObject
            {
                ["leads"] = new JsonArray([.. created.Select((c, i) => (JsonNode)new JsonObject
                {
                    ["id"] = c.LeadId,
                    ["request_id"] = plans[i].RequestId ?? i.ToString(CultureInfo.InvariantCulture),
                    ["_links"] = AmoResults.Link(baseUrl + "/api/v4/leads/" + c.LeadId.ToString(CultureInfo.InvariantCulture)),
                })]),
            },
        });
    }

    private static DirectLeadPlan? ValidateLead(JsonNode? node, bool complex, EmulatorAccount caller, EmulatorState state, ItemValidation v)
    {
        if (node is not JsonObject item)
        {
            v.InvalidType("", "object");
            return null;
        }

        var lead = UnsortedForms.ValidateLead(item, "", v);
        var pipeline = UnsortedForms.OptionalPipeline(item["pipeline_id"], "pipeline_id", v) ?? EmulatorSeed.FindPipeline(EmulatorSeed.MainPipelineId)!;
        var statusId = pipeline.Statuses.First(s => s.Type == 0).Id;
        if (!JsonRead.IsMissing(item["status_id"]))
        {
            if (!JsonRead.TryGetInteger(item["status_id"], out statusId) || pipeline.Statuses.All(s => s.Id != statusId))
            {
                v.NotSupportedChoice("status_id");
            }
        }

        long? responsible = null;
        if (!JsonRead.IsMissing(item["responsible_user_id"]))
        {
            if (JsonRead.TryGetInteger(item["responsible_user_id"], out var r))
            {
                responsible = r;
            }
            else
            {
                v.InvalidType("responsible_user_id", "int");
            }
        }

        long? link = null;
        ContactPlan? contact = null;
        if ((item["_embedded"] as JsonObject)?["contacts"] is JsonArray { Count: > 0 } contacts)
        {
            if (contacts.Count > 1 && complex)
            {
                v.TooMany("_embedded.contacts", 1);
            }
            else if (contacts[0] is not JsonObject first)
            {
                v.InvalidType("_embedded.contacts.0", "object");
            }
            else if (first.Count == 1 && first.ContainsKey("id"))
            {
                // amocrm-api.md: an embedded contact with only an id links the existing one. A merged or unknown id is
                // refused here (unverified: what amoCRM does with a deleted contact's id).
                if (!JsonRead.TryGetInteger(first["id"], out var id) || !state.ContactLinkable(id, caller))
                {
                    v.NotSupportedChoice("_embedded.contacts.0.id");
                }
                else
                {
                    link = id;
                }
            }
            else if (!complex)
            {
                // POST /leads links existing contacts only.
                v.InvalidType("_embedded.contacts.0.id", "int");
            }
            else
            {
                contact = UnsortedForms.ValidateContact(first, "_embedded.contacts.0", v);
            }
        }

        var fixedErrors = v.Errors.Select(e => e with { Path = e.Path.TrimStart('.') }).ToList();
        v.Errors.Clear();
        v.Errors.AddRange(fixedErrors);
        return v.IsValid ? new DirectLeadPlan(JsonRead.RequestId(item["request_id"]), pipeline.Id, statusId, lead, link, contact, responsible) : null;
    }

    private static IResult ListLeads(HttpRequest request, EmulatorState state, EmulatorOptions options)
    {
        long? from = long.TryParse(request.Query["filter[created_at][from]"].ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var f) ? f : null;
        var leads = state.FindLeads(ApiEndpoints.Caller(request, state), request.Query["query"].ToString(), from, ApiEndpoints.QueryValues(request, "filter[id]"));
        var baseUrl = AmoResults.BaseUrl(request);
        return ApiEndpoints.Paginate(request, options, leads, "leads", lead =>
        {
            lead["_links"] = AmoResults.Link(baseUrl + "/api/v4/leads/" + lead["id"]!.ToJsonString());
            return lead;
        });
    }
}
