using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Leads;

namespace Gateway.Contacts;

// Who gets the lead: one user, a round-robin over a list of users, or over a group's active users.
internal sealed record ResponsibleChoice(long? UserId, IReadOnlyList<long>? RoundRobin, long? GroupId)
{
    // The round-robin counter's name: one counter per list (in the order given) or per group.
    public string? CounterKey => RoundRobin is { } list ? "list:" + string.Join(',', list.Select(id => id.ToString(CultureInfo.InvariantCulture)))
        : GroupId is { } group ? "group:" + group.ToString(CultureInfo.InvariantCulture)
        : null;
}

internal sealed record RuleCondition(string? Source, string? Form, string? FieldName, string? FieldEquals, IReadOnlyList<KeyValuePair<string, string>> Utm)
{
    public bool Matches(UnsortedLeadRequest lead)
    {
        if (Source is not null && !Same(Source, lead.Source))
        {
            return false;
        }

        if (Form is not null && !Same(Form, lead.FormId) && !Same(Form, lead.FormName))
        {
            return false;
        }

        if (FieldName is not null && !lead.Lead.CustomFields.Concat(lead.Contact.CustomFields)
            .Any(f => Same(FieldName, f.FieldName ?? f.FieldCode) && AssignmentSettings.ValuesOf(f).Any(v => Same(FieldEquals!, v))))
        {
            return false;
        }

        return Utm.All(want => lead.Utm.Any(have => Same(want.Key, have.Key) && Same(want.Value, have.Value)));
    }

    private static bool Same(string expected, string? actual) => actual is not null && string.Equals(expected.Trim(), actual.Trim(), StringComparison.OrdinalIgnoreCase);
}

internal sealed record ResponsibleRule(RuleCondition When, ResponsibleChoice Choice);

internal sealed record ResponsibleSettings(ResponsibleChoice? Choice, IReadOnlyList<ResponsibleRule> Rules, bool Sticky)
{
    // The first rule that matches, else the top-level choice (null: no responsible user is asked for).
    public ResponsibleChoice? ChoiceFor(UnsortedLeadRequest lead) => Rules.FirstOrDefault(r => r.When.Matches(lead))?.Choice ?? Choice;
}

// Days: ISO numbers, 1 = Monday … 7 = Sunday; From < To, both on the same day.
internal sealed record WorkingHours(IReadOnlySet<int> Days, TimeSpan From, TimeSpan To);

internal sealed record TaskSettings(string Text, int DueMinutes, WorkingHours? Hours, long TaskTypeId);

internal sealed record LeadAssignment(ResponsibleSettings? Responsible, TaskSettings? Task);

// "responsible" and "task" of a lead body (after the key's, the profile's and the account's defaults filled what it
// left out): validated at intake into 422 details, and again from the stored payload at delivery.
internal static class AssignmentSettings
{
    public const int MaxUsers = 100;
    public const int MaxRules = 50;
    public const int MaxTaskText = 2000;
    public const int MaxDueMinutes = 525_600;

    private static readonly string[] ChoiceKeys = ["user_id", "round_robin", "group_id"];

    private static readonly string[] FixedPlaceholders = ["contact.name", "contact.phone", "contact.email", "lead.name", "lead.price", "source", "form"];

    public static LeadAssignment? Parse(JsonObject body, Dictionary<string, string> errors)
    {
        var responsible = body["responsible"] is { } r ? ParseResponsible(r, "responsible", errors) : null;
        var task = body["task"] is { } t ? ParseTask(t, "task", errors) : null;
        return responsible is null && task is null ? null : new LeadAssignment(responsible, task);
    }

    // A defaults entry (keys file, accounts file, sources file): the first problem as "key: message", or null.
    public static string? Check(JsonNode? responsible, JsonNode? task)
    {
        var errors = new Dictionary<string, string>();
        if (responsible is not null)
        {
            ParseResponsible(responsible, "responsible", errors);
        }

        if (task is not null)
        {
            ParseTask(task, "task", errors);
        }

        return errors.Count == 0 ? null : errors.First().Key + ": " + errors.First().Value;
    }

    public static IEnumerable<string> ValuesOf(CustomFieldInput field) => field.Values.Select(v => v switch
    {
        JsonObject o => Scalar(o["value"]),
        _ => Scalar(v),
    }).OfType<string>();

    // {contact.name}, {contact.phone}, {contact.email}, {lead.name}, {lead.price}, {source}, {form}, {utm.<key>},
    // {field:<name>} (a lead or contact field as the body named it); what the lead does not have renders empty.
    public static string Render(string template, UnsortedLeadRequest lead) => TextTemplate.Render(template, name => Placeholder(name, lead), unknown: null);

    private static string? Placeholder(string name, UnsortedLeadRequest lead) => name switch
    {
        "contact.name" => lead.Contact.Name ?? "",
        "contact.phone" => lead.Contact.Phone ?? "",
        "contact.email" => lead.Contact.Email ?? "",
        "lead.name" => lead.Lead.Name,
        "lead.price" => lead.Lead.Price?.ToString(CultureInfo.InvariantCulture) ?? "",
        "source" => lead.Source ?? "",
        "form" => lead.FormName ?? lead.FormId ?? "",
        _ when name.StartsWith("utm.", StringComparison.Ordinal) =>
            lead.Utm.FirstOrDefault(u => string.Equals(u.Key, name[4..], StringComparison.OrdinalIgnoreCase)).Value ?? "",
        _ when name.StartsWith("field:", StringComparison.Ordinal) =>
            string.Join(", ", lead.Lead.CustomFields.Concat(lead.Contact.CustomFields)
                .Where(f => string.Equals(f.FieldName ?? f.FieldCode, name[6..].Trim(), StringComparison.OrdinalIgnoreCase))
                .SelectMany(ValuesOf)),
        _ => null,
    };

    private static bool IsPlaceholder(string name) =>
        FixedPlaceholders.Contains(name, StringComparer.Ordinal)
        || (name.StartsWith("utm.", StringComparison.Ordinal) && name.Length > 4)
        || (name.StartsWith("field:", StringComparison.Ordinal) && name[6..].Trim().Length > 0);

    private static ResponsibleSettings? ParseResponsible(JsonNode node, string key, Dictionary<string, string> errors)
    {
        if (node is not JsonObject settings)
        {
            errors[key] = "Responsible must be an object: {\"user_id\": N}, {\"round_robin\": [ids]} or {\"group_id\": N}, with optional \"rules\" and \"sticky\"";
            return null;
        }

        var before = errors.Count;
        foreach (var (name, _) in settings)
        {
            if (name is not ("user_id" or "round_robin" or "group_id" or "rules" or "sticky"))
            {
                errors[$"{key}.{name}"] = "Unknown setting (known: user_id, round_robin, group_id, rules, sticky)";
            }
        }

        var choice = ParseChoice(settings, key, required: false, errors);
        var rules = new List<ResponsibleRule>();
        if (settings["rules"] is { } rulesNode)
        {
            if (rulesNode is not JsonArray array || array.Count > MaxRules)
            {
                errors[$"{key}.rules"] = $"Rules must be an array of at most {MaxRules} rules";
            }
            else
            {
                for (var i = 0; i < array.Count; i++)
                {
                    if (ParseRule(array[i], $"{key}.rules.{i}", errors) is { } rule)
                    {
                        rules.Add(rule);
                    }
                }
            }
        }

        var sticky = false;
        if (settings["sticky"] is { } stickyNode)
        {
            if (stickyNode.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
            {
                sticky = stickyNode.GetValue<bool>();
            }
            else
            {
                errors[$"{key}.sticky"] = "Sticky must be true or false";
            }
        }

        if (choice is null && rules.Count == 0 && !sticky && errors.Count == before)
        {
            errors[key] = "Responsible needs user_id, round_robin, group_id, rules or sticky";
        }

        return errors.Count == before ? new ResponsibleSettings(choice, rules, sticky) : null;
    }

    private static ResponsibleRule? ParseRule(JsonNode? node, string key, Dictionary<string, string> errors)
    {
        if (node is not JsonObject rule)
        {
            errors[key] = "A rule is {\"when\": {…}, \"user_id\" | \"round_robin\" | \"group_id\": …}";
            return null;
        }

        var before = errors.Count;
        foreach (var (name, _) in rule)
        {
            if (name is not ("when" or "user_id" or "round_robin" or "group_id"))
            {
                errors[$"{key}.{name}"] = "Unknown rule setting (known: when, user_id, round_robin, group_id)";
            }
        }

        var when = ParseCondition(rule["when"], key + ".when", errors);
        var choice = ParseChoice(rule, key, required: true, errors);
        return errors.Count == before && when is not null && choice is not null ? new ResponsibleRule(when, choice) : null;
    }

    private static RuleCondition? ParseCondition(JsonNode? node, string key, Dictionary<string, string> errors)
    {
        if (node is not JsonObject when)
        {
            errors[key] = "When must be an object with source, form, field {name, equals} or utm {utm_source: …}";
            return null;
        }

        var before = errors.Count;
        string? source = null, form = null, fieldName = null, fieldEquals = null;
        var utm = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in when)
        {
            switch (name)
            {
                case "source":
                    source = Text(value, $"{key}.source", errors);
                    break;
                case "form":
                    form = Text(value, $"{key}.form", errors);
                    break;
                case "field" when value is JsonObject field:
                    fieldName = Text(field["name"], $"{key}.field.name", errors);
                    fieldEquals = Scalar(field["equals"]);
                    if (fieldEquals is null)
                    {
                        errors[$"{key}.field.equals"] = "Equals must be a string or a number";
                    }

                    break;
                case "utm" when value is JsonObject utmValues && utmValues.Count > 0:
                    foreach (var (utmKey, utmValue) in utmValues)
                    {
                        if (Text(utmValue, $"{key}.utm.{utmKey}", errors) is { } text)
                        {
                            utm.Add(new(utmKey, text));
                        }
                    }

                    break;
                case "field" or "utm":
                    errors[$"{key}.{name}"] = name == "field" ? "Field must be {\"name\": \"…\", \"equals\": \"…\"}" : "Utm must be an object like {\"utm_source\": \"instagram\"}";
                    break;
                default:
                    errors[$"{key}.{name}"] = "Unknown condition (known: source, form, field, utm)";
                    break;
            }
        }

        if (errors.Count == before && source is null && form is null && fieldName is null && utm.Count == 0)
        {
            errors[key] = "When needs at least one of source, form, field, utm";
        }

        return errors.Count == before ? new RuleCondition(source, form, fieldName, fieldEquals, utm) : null;
    }

    private static ResponsibleChoice? ParseChoice(JsonObject node, string key, bool required, Dictionary<string, string> errors)
    {
        var given = ChoiceKeys.Where(k => node[k] is not null).ToList();
        if (given.Count > 1)
        {
            errors[key] = "Give one of user_id, round_robin, group_id";
            return null;
        }

        if (given.Count == 0)
        {
            if (required)
            {
                errors[key] = "A rule needs one of user_id, round_robin, group_id";
            }

            return null;
        }

        switch (given[0])
        {
            case "user_id":
                return PositiveId(node["user_id"]) is { } user ? new ResponsibleChoice(user, null, null) : Fail($"{key}.user_id", "User id must be a positive integer");
            case "group_id":
                return Integer(node["group_id"]) is { } group and >= 0 ? new ResponsibleChoice(null, null, group) : Fail($"{key}.group_id", "Group id must be a non-negative integer");
            default:
                if (node["round_robin"] is not JsonArray list || list.Count is 0 or > MaxUsers || list.Any(u => PositiveId(u) is null))
                {
                    return Fail($"{key}.round_robin", $"Round robin must be an array of 1 to {MaxUsers} positive user ids");
                }

                var ids = list.Select(u => PositiveId(u)!.Value).ToList();
                return ids.Distinct().Count() == ids.Count ? new ResponsibleChoice(null, ids, null) : Fail($"{key}.round_robin", "Round robin must not name a user twice");
        }

        ResponsibleChoice? Fail(string at, string message)
        {
            errors[at] = message;
            return null;
        }
    }

    private static TaskSettings? ParseTask(JsonNode node, string key, Dictionary<string, string> errors)
    {
        if (node is not JsonObject task)
        {
            errors[key] = "Task must be an object: {\"text\": \"…\", \"due_minutes\": 30, \"working_hours\": {…}, \"task_type_id\": 1}";
            return null;
        }

        var before = errors.Count;
        foreach (var (name, _) in task)
        {
            if (name is not ("text" or "due_minutes" or "working_hours" or "task_type_id"))
            {
                errors[$"{key}.{name}"] = "Unknown setting (known: text, due_minutes, working_hours, task_type_id)";
            }
        }

        var text = Text(task["text"], $"{key}.text", errors, MaxTaskText);
        if (text is null && !errors.ContainsKey($"{key}.text"))
        {
            errors[$"{key}.text"] = "Task text is required";
        }
        else if (text is not null && UnknownPlaceholder(text) is { } unknown)
        {
            errors[$"{key}.text"] = $"Unknown placeholder {{{unknown}}} (known: {string.Join(", ", FixedPlaceholders.Select(p => "{" + p + "}"))}, {{utm.<key>}}, {{field:<name>}})";
        }

        var due = 30;
        if (task["due_minutes"] is { } dueNode)
        {
            if (Integer(dueNode) is { } minutes and >= 1 and <= MaxDueMinutes)
            {
                due = (int)minutes;
            }
            else
            {
                errors[$"{key}.due_minutes"] = $"Due minutes must be a whole number from 1 to {MaxDueMinutes}";
            }
        }

        long type = 1;
        if (task["task_type_id"] is { } typeNode && PositiveId(typeNode) is not { } chosen)
        {
            errors[$"{key}.task_type_id"] = "Task type id must be a positive integer (1 call, 2 meeting, or the account's own)";
        }
        else if (task["task_type_id"] is { } typeValue)
        {
            type = PositiveId(typeValue)!.Value;
        }

        var hours = task["working_hours"] is { } hoursNode ? ParseHours(hoursNode, $"{key}.working_hours", errors) : null;
        return errors.Count == before ? new TaskSettings(text!, due, hours, type) : null;
    }

    private static WorkingHours? ParseHours(JsonNode node, string key, Dictionary<string, string> errors)
    {
        if (node is not JsonObject hours)
        {
            errors[key] = "Working hours must be {\"days\": [1,2,3,4,5], \"from\": \"09:00\", \"to\": \"18:00\"}";
            return null;
        }

        var before = errors.Count;
        var days = new HashSet<int>();
        if (hours["days"] is not JsonArray list || list.Count == 0 || list.Any(d => Integer(d) is not (>= 1 and <= 7)))
        {
            errors[$"{key}.days"] = "Days must be a non-empty array of 1 (Monday) to 7 (Sunday)";
        }
        else
        {
            days.UnionWith(list.Select(d => (int)Integer(d)!.Value));
        }

        var from = Clock(hours["from"], $"{key}.from", errors);
        var to = Clock(hours["to"], $"{key}.to", errors);
        if (from is { } start && to is { } end && start >= end)
        {
            errors[$"{key}.to"] = "To must be later than from on the same day";
        }

        return errors.Count == before ? new WorkingHours(days, from!.Value, to!.Value) : null;
    }

    private static TimeSpan? Clock(JsonNode? node, string key, Dictionary<string, string> errors)
    {
        if (Scalar(node) is { } text && TimeSpan.TryParseExact(text, @"hh\:mm", CultureInfo.InvariantCulture, out var time))
        {
            return time;
        }

        if (Scalar(node) == "24:00")
        {
            return TimeSpan.FromHours(24);
        }

        errors[key] = "A time of day as HH:mm, like 09:00";
        return null;
    }

    private static string? UnknownPlaceholder(string template)
    {
        var at = 0;
        while (template.IndexOf('{', at) is var open and >= 0 && template.IndexOf('}', open) is var close and >= 0)
        {
            var name = template[(open + 1)..close];
            if (!IsPlaceholder(name))
            {
                return name;
            }

            at = close + 1;
        }

        return null;
    }

    private static string? Text(JsonNode? node, string key, Dictionary<string, string> errors, int max = 1000)
    {
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Trim() is { Length: > 0 } text && text.Length <= max)
        {
            return text;
        }

        errors[key] = string.Create(CultureInfo.InvariantCulture, $"Must be a non-empty string of at most {max} characters");
        return null;
    }

    private static string? Scalar(JsonNode? node) => node is JsonValue v
        ? v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.Number => v.ToJsonString(),
            _ => null,
        }
        : null;

    private static long? Integer(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var value) ? value : null;

    private static long? PositiveId(JsonNode? node) => Integer(node) is { } id and > 0 ? id : null;
}
