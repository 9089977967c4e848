using System.Globalization;
using System.Text.Json.Nodes;

namespace Emulator;

// Users, groups and tasks: GET /api/v4/users, POST and GET /api/v4/tasks, and their /_emulator controls.
internal static class TeamEndpoints
{
    // amoCRM's documented batch size for tasks (50); the emulator's MaxBatchSize can only lower it.
    public const int MaxTasksPerRequest = 50;

    public static IEndpointRouteBuilder MapTeam(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/v4");
        api.MapGet("/users", Users);
        api.MapGet("/users/{id:long}", (long id, HttpRequest request, EmulatorState state) =>
            state.Team.UsersOf(ApiEndpoints.Caller(request, state).Id).FirstOrDefault(u => u.Id == id) is { } user
                ? AmoResults.Hal(TeamState.RenderUser(user, WithPart(request, "group"), WithPart(request, "role"), AmoResults.BaseUrl(request)))
                : AmoResults.NotFound());
        api.MapGet("/tasks", Tasks);
        api.MapPost("/tasks", AddTasksAsync);

        var control = routes.MapGroup("/_emulator");
        control.MapGet("/users", (HttpRequest request, EmulatorState state) => ControlAccount(request, state) is { } account
            ? AmoResults.PlainJson(new JsonArray([.. state.Team.UsersOf(account.Id).Select(u => TeamState.RenderUser(u, true, false, AmoResults.BaseUrl(request)))]))
            : AmoResults.BadRequest("Unknown account"));
        control.MapPost("/users", PutUserAsync);
        control.MapPost("/users/{id:long}/deactivate", (long id, HttpRequest request, EmulatorState state) => SetActive(id, false, request, state));
        control.MapPost("/users/{id:long}/activate", (long id, HttpRequest request, EmulatorState state) => SetActive(id, true, request, state));
        control.MapPost("/groups", PutGroupAsync);
        control.MapGet("/tasks", (HttpRequest request, EmulatorState state) => ControlAccount(request, state) is { } account
            ? AmoResults.PlainJson(new JsonArray([.. state.Team.TasksOf(request.Query.ContainsKey("account") ? account.Id : null).Select(t => TeamState.RenderTask(t, AmoResults.BaseUrl(request)))]))
            : AmoResults.BadRequest("Unknown account"));
        return routes;
    }

    // The users_groups part of GET /api/v4/account?with=users_groups: the caller's own groups.
    public static JsonArray GroupsView(EmulatorState state, long accountId) =>
        new([.. state.Team.GroupsOf(accountId).Select(g => (JsonNode)new JsonObject { ["id"] = g.Id, ["name"] = g.Name, ["uuid"] = null })]);

    private static bool WithPart(HttpRequest request, string part) =>
        request.Query["with"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(part, StringComparer.Ordinal);

    private static EmulatorAccount? ControlAccount(HttpRequest request, EmulatorState state) =>
        request.Query["account"].ToString() is { Length: > 0 } chosen ? state.FindAccount(chosen) : state.MainAccount;

    private static IResult Users(HttpRequest request, EmulatorState state, EmulatorOptions options)
    {
        var baseUrl = AmoResults.BaseUrl(request);
        var withGroup = WithPart(request, "group");
        var withRole = WithPart(request, "role");
        return ApiEndpoints.Paginate(request, options, state.Team.UsersOf(ApiEndpoints.Caller(request, state).Id), "users", u => TeamState.RenderUser(u, withGroup, withRole, baseUrl));
    }

    // filter[entity_id] (one or an array), filter[entity_type], filter[id], filter[responsible_user_id]; oldest first
    // unless order[id]=desc (or order[created_at]=desc).
    private static IResult Tasks(HttpRequest request, EmulatorState state, EmulatorOptions options)
    {
        IEnumerable<TaskRecord> tasks = state.Team.TasksOf(ApiEndpoints.Caller(request, state).Id);
        foreach (var (key, select) in new (string, Func<TaskRecord, string>)[]
        {
            ("filter[entity_id]", t => t.EntityId.ToString(CultureInfo.InvariantCulture)),
            ("filter[id]", t => t.Id.ToString(CultureInfo.InvariantCulture)),
            ("filter[responsible_user_id]", t => t.ResponsibleUserId.ToString(CultureInfo.InvariantCulture)),
            ("filter[entity_type]", t => t.EntityType),
        })
        {
            var wanted = ApiEndpoints.QueryValues(request, key);
            if (wanted.Count > 0)
            {
                tasks = tasks.Where(t => wanted.Contains(select(t)));
            }
        }

        var descending = string.Equals(request.Query["order[id]"].ToString(), "desc", StringComparison.OrdinalIgnoreCase)
            || string.Equals(request.Query["order[created_at]"].ToString(), "desc", StringComparison.OrdinalIgnoreCase);
        var ordered = (descending ? tasks.OrderByDescending(t => t.Id) : tasks.OrderBy(t => t.Id)).ToList();
        var baseUrl = AmoResults.BaseUrl(request);
        return ApiEndpoints.Paginate(request, options, ordered, "tasks", t => TeamState.RenderTask(t, baseUrl));
    }

    private static async Task<IResult> AddTasksAsync(HttpContext context, EmulatorState state, EmulatorOptions options)
    {
        var (items, error) = await ApiEndpoints.ReadBatchAsync(context, options);
        if (items is null)
        {
            return error!;
        }

        if (items.Count > MaxTasksPerRequest)
        {
            return AmoResults.BadRequest(string.Create(CultureInfo.InvariantCulture, $"Too many entities in one request: {items.Count}, at most {MaxTasksPerRequest}"));
        }

        var caller = ApiEndpoints.Caller(context.Request, state);
        var failed = new List<ItemValidation>();
        var plans = new List<TaskPlan>();
        for (var i = 0; i < items.Count; i++)
        {
            var validation = new ItemValidation(ApiEndpoints.ItemKey(items[i], i));
            if (ValidateTask(items[i], state, caller, validation) is { } plan && validation.IsValid)
            {
                plans.Add(plan);
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

        var created = state.Team.CreateTasks(caller.Id, plans);
        if (state.RollLostAnswer(context.Request.Path.Value ?? "") is { } lost)
        {
            return new LostAnswerResult(lost);
        }

        var baseUrl = AmoResults.BaseUrl(context.Request);
        var answers = new JsonArray();
        for (var i = 0; i < created.Count; i++)
        {
            answers.Add(new JsonObject
            {
                ["id"] = created[i].Id,
                ["request_id"] = plans[i].RequestId ?? i.ToString(CultureInfo.InvariantCulture),
                ["_links"] = AmoResults.Link(baseUrl + "/api/v4/tasks/" + created[i].Id.ToString(CultureInfo.InvariantCulture)),
            });
        }

        return AmoResults.Hal(new JsonObject
        {
            ["_links"] = AmoResults.Link(baseUrl + "/api/v4/tasks"),
            ["_embedded"] = new JsonObject { ["tasks"] = answers },
        });
    }

    private static TaskPlan? ValidateTask(JsonNode? node, EmulatorState state, EmulatorAccount account, ItemValidation v)
    {
        if (node is not JsonObject item)
        {
            v.InvalidType("", "object");
            return null;
        }

        string? text = null;
        if (JsonRead.IsMissing(item["text"]))
        {
            v.FieldMissing("text");
        }
        else if (!JsonRead.TryGetString(item["text"], out var given))
        {
            v.InvalidType("text", "string");
        }
        else if (string.IsNullOrWhiteSpace(given))
        {
            v.NotBlank("text");
        }
        else
        {
            text = given;
        }

        long completeTill = 0;
        if (JsonRead.IsMissing(item["complete_till"]))
        {
            v.FieldMissing("complete_till");
        }
        else if (!JsonRead.TryGetInteger(item["complete_till"], out completeTill))
        {
            v.InvalidType("complete_till", "int");
        }
        else if (completeTill <= state.Now.ToUnixTimeSeconds())
        {
            // amoCRM refuses a deadline in the past; its exact code and wording are unverified.
            v.Errors.Add(new FieldError("InvalidValue", "complete_till", "The task deadline must be in the future."));
        }

        var entityType = "leads";
        long entityId = 0;
        if (!JsonRead.IsMissing(item["entity_type"]) && (!JsonRead.TryGetString(item["entity_type"], out entityType) || entityType is not ("leads" or "contacts" or "companies")))
        {
            v.NotSupportedChoice("entity_type");
        }

        if (JsonRead.IsMissing(item["entity_id"]))
        {
            v.FieldMissing("entity_id");
        }
        else if (!JsonRead.TryGetInteger(item["entity_id"], out entityId))
        {
            v.InvalidType("entity_id", "int");
        }
        else if (entityType == "leads" && !state.LeadExists(entityId, account))
        {
            v.NotSupportedChoice("entity_id");
        }

        long? responsible = null;
        if (!JsonRead.IsMissing(item["responsible_user_id"]))
        {
            if (!JsonRead.TryGetInteger(item["responsible_user_id"], out var user))
            {
                v.InvalidType("responsible_user_id", "int");
            }
            else if (!state.Team.IsAssignable(account.Id, user))
            {
                v.NotSupportedChoice("responsible_user_id");
            }
            else
            {
                responsible = user;
            }
        }

        long taskType = 1;
        if (!JsonRead.IsMissing(item["task_type_id"]) && (!JsonRead.TryGetInteger(item["task_type_id"], out taskType) || taskType is not (1 or 2)))
        {
            v.NotSupportedChoice("task_type_id");
        }

        return text is null ? null : new TaskPlan(text, completeTill, entityId, entityType, responsible, taskType, JsonRead.RequestId(item["request_id"]));
    }

    private static IResult SetActive(long id, bool active, HttpRequest request, EmulatorState state) =>
        ControlAccount(request, state) is not { } account ? AmoResults.BadRequest("Unknown account")
        : state.Team.SetActive(account.Id, id, active) ? Results.NoContent()
        : AmoResults.NotFound();

    // {"id": 7001, "name": "Aziza", "group_id": 12, "is_active": true}: adds the user or replaces the one with that id.
    private static async Task<IResult> PutUserAsync(HttpContext context, EmulatorState state)
    {
        if (ControlAccount(context.Request, state) is not { } account)
        {
            return AmoResults.BadRequest("Unknown account");
        }

        using var reader = new StreamReader(context.Request.Body);
        if (JsonRead.TryParse(await reader.ReadToEndAsync(context.RequestAborted)) is not JsonObject body || !JsonRead.TryGetInteger(body["id"], out var id) || id <= 0)
        {
            return AmoResults.BadRequest("A user is {\"id\": N, \"name\": \"…\", \"group_id\": N, \"is_active\": true}");
        }

        var name = JsonRead.TryGetString(body["name"], out var given) ? given : "User " + id.ToString(CultureInfo.InvariantCulture);
        var group = JsonRead.TryGetInteger(body["group_id"], out var g) ? g : TeamState.DefaultGroupId;
        var active = body["is_active"] is not JsonValue flag || !flag.TryGetValue<bool>(out var isActive) || isActive;
        var user = state.Team.PutUser(account.Id, id, name, group, active);
        return AmoResults.PlainJson(TeamState.RenderUser(user, true, false, AmoResults.BaseUrl(context.Request)));
    }

    private static async Task<IResult> PutGroupAsync(HttpContext context, EmulatorState state)
    {
        if (ControlAccount(context.Request, state) is not { } account)
        {
            return AmoResults.BadRequest("Unknown account");
        }

        using var reader = new StreamReader(context.Request.Body);
        if (JsonRead.TryParse(await reader.ReadToEndAsync(context.RequestAborted)) is not JsonObject body || !JsonRead.TryGetInteger(body["id"], out var id) || !JsonRead.TryGetString(body["name"], out var name))
        {
            return AmoResults.BadRequest("A group is {\"id\": N, \"name\": \"…\"}");
        }

        var group = state.Team.PutGroup(account.Id, id, name);
        return AmoResults.PlainJson(new JsonObject { ["id"] = group.Id, ["name"] = group.Name });
    }
}
