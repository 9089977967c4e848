using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Sources;

internal enum TargetKind
{
    ContactName,
    ContactPhone,
    ContactEmail,
    LeadPrice,
    Note,
    Tag,
    Utm,
    LeadField,
    ContactField,
    Ignore,
}

// Where one incoming field goes. Value: the UTM key, or the amoCRM field's name; for a note, "labelled" when a profile
// put it there (then it is written as "Label: value" like any unmapped field).
internal sealed record Target(TargetKind Kind, string? Value = null)
{
    public static readonly Target ContactNameTarget = new(TargetKind.ContactName);
    public static readonly Target ContactPhoneTarget = new(TargetKind.ContactPhone);
    public static readonly Target ContactEmailTarget = new(TargetKind.ContactEmail);
    public static readonly Target MessageTarget = new(TargetKind.Note);

    // "contact.name", "lead.price", "lead.field:Город", "contact.field:Lavozim", "tag", "utm:utm_source", "note", "ignore".
    public static Target? Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var head = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        var tail = colon < 0 ? null : text[(colon + 1)..].Trim();
        return (head, tail) switch
        {
            ("contact.name", null) => ContactNameTarget,
            ("contact.phone", null) => ContactPhoneTarget,
            ("contact.email", null) => ContactEmailTarget,
            ("lead.price", null) => new(TargetKind.LeadPrice),
            ("note", null) => new(TargetKind.Note, "labelled"),
            ("tag", null) => new(TargetKind.Tag),
            ("ignore", null) => new(TargetKind.Ignore),
            ("utm", { Length: > 0 and <= 64 }) => new(TargetKind.Utm, tail),
            ("lead.field", { Length: > 0 and <= 255 }) => new(TargetKind.LeadField, tail),
            ("contact.field", { Length: > 0 and <= 255 }) => new(TargetKind.ContactField, tail),
            _ => null,
        };
    }
}

// One form's mapping, from SOURCES_FILE: which tool and form it is for, where each field goes, the lead's name and the
// defaults the lead gets. Written for people to read (and, later, for the console to edit).
internal sealed record SourceProfile(
    string Tool,
    string? Form,
    string? Account,
    string? LeadName,
    IReadOnlyDictionary<string, Target> Fields,
    long? PipelineId,
    string? SourceName,
    IReadOnlyList<string> Tags)
{
    // defaults.delivery: lead mode and contact policy for this form's leads (Contacts.DeliverySettings' shape).
    public JsonObject? Delivery { get; init; }

    // The lead body's "responsible" and "task" for this form (checked when the file was read).
    public JsonObject? Responsible { get; init; }

    public JsonObject? Task { get; init; }

    // "file" (SOURCES_FILE) or "database" (saved in the console).
    public string Origin { get; init; } = "file";

    // One profile's identity: its tool and form (a profile without a form is the tool's).
    public string Id => Tool + "|" + (Form?.ToLowerInvariant() ?? "*");

    public Target? TargetOf(string key, string label) =>
        Fields.TryGetValue(key, out var byKey) ? byKey : Fields.TryGetValue(label, out var byLabel) ? byLabel : null;

    public bool Matches(string tool, string? formId, string? formName) =>
        Tool == tool && (Form is null || string.Equals(Form, formId, StringComparison.OrdinalIgnoreCase) || string.Equals(Form, formName, StringComparison.OrdinalIgnoreCase));

    public void ApplyDefaults(JsonObject body, JsonObject lead)
    {
        if (SourceName is not null)
        {
            body["source"] ??= SourceName;
        }

        if (PipelineId is { } pipeline)
        {
            body["pipeline_id"] ??= pipeline;
        }

        if (Delivery is { } delivery)
        {
            body["delivery"] ??= delivery.DeepClone();
        }

        if (Responsible is not null)
        {
            body["responsible"] ??= Responsible.DeepClone();
        }

        if (Task is not null)
        {
            body["task"] ??= Task.DeepClone();
        }

        if (Tags.Count > 0)
        {
            var tags = lead["tags"] as JsonArray ?? [];
            foreach (var tag in Tags)
            {
                tags.Add((JsonNode)JsonValue.Create(tag));
            }

            lead["tags"] = tags;
        }
    }
}

internal sealed class SourcesFileException(string message) : Exception(message);

// {"profiles": [{"source": "tilda", "form": "form789112233", "account": "…", "lead_name": "Sayt: {Ism}",
//   "fields": {"Ism": "contact.name", "Shahar": "lead.field:Город"}, "defaults": {"pipeline_id": 1, "source": "…", "tags": ["…"]}}]}
internal static class SourcesFile
{
    public static IReadOnlyList<SourceProfile> Parse(string text)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new SourcesFileException("not valid JSON: " + ex.Message);
        }

        if (root is not JsonObject top || top["profiles"] is not JsonArray list)
        {
            throw new SourcesFileException("must be an object with a \"profiles\" array");
        }

        var profiles = new List<SourceProfile>();
        for (var i = 0; i < list.Count; i++)
        {
            profiles.Add(ParseProfile(list[i], $"profiles[{i}]"));
        }

        // The one that names its form wins over the tool-wide one.
        return [.. profiles.OrderBy(p => p.Form is null ? 1 : 0)];
    }

    public static SourceProfile ParseProfile(JsonNode? node, string at)
    {
        if (node is not JsonObject profile)
        {
            throw new SourcesFileException($"{at} must be an object");
        }

        var tool = Text(profile, "source", at)?.ToLowerInvariant();
        if (tool is null || !HookKeyInPath.Tools.Contains(tool))
        {
            throw new SourcesFileException($"{at}.source must be one of {string.Join(", ", HookKeyInPath.Tools)}");
        }

        var fields = new Dictionary<string, Target>(StringComparer.OrdinalIgnoreCase);
        if (profile["fields"] is { } fieldsNode)
        {
            if (fieldsNode is not JsonObject map)
            {
                throw new SourcesFileException($"{at}.fields must be an object of form field → target");
            }

            foreach (var (name, value) in map)
            {
                var target = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? Target.Parse(v.GetValue<string>()) : null;
                fields[name] = target ?? throw new SourcesFileException(
                    $"{at}.fields.{name}: the target must be contact.name, contact.phone, contact.email, lead.price, lead.field:<amoCRM field name>, contact.field:<name>, tag, utm:<utm key>, note or ignore");
            }
        }

        long? pipeline = null;
        string? sourceName = null;
        JsonObject? delivery = null;
        var tags = new List<string>();
        JsonObject? responsible = null, task = null;
        if (profile["defaults"] is { } defaultsNode)
        {
            if (defaultsNode is not JsonObject defaults)
            {
                throw new SourcesFileException($"{at}.defaults must be an object");
            }

            if (defaults["pipeline_id"] is { } p)
            {
                pipeline = p is JsonValue pv && pv.TryGetValue<long>(out var id) && id > 0 ? id : throw new SourcesFileException($"{at}.defaults.pipeline_id must be a positive integer");
            }

            sourceName = Text(defaults, "source", at + ".defaults");
            delivery = Security.LeadDefaults.ParseDelivery(defaults["delivery"], at + ".defaults.delivery", m => new SourcesFileException(m));
            if (Contacts.AssignmentSettings.Check(defaults["responsible"], defaults["task"]) is { } assignmentProblem)
            {
                throw new SourcesFileException($"{at}.defaults.{assignmentProblem}");
            }

            responsible = defaults["responsible"]?.DeepClone().AsObject();
            task = defaults["task"]?.DeepClone().AsObject();
            if (defaults["tags"] is { } t)
            {
                if (t is not JsonArray array || array.Any(x => x is not JsonValue tv || tv.GetValueKind() != JsonValueKind.String))
                {
                    throw new SourcesFileException($"{at}.defaults.tags must be an array of tag names");
                }

                tags.AddRange(array.Select(x => x!.GetValue<string>()));
            }
        }

        var account = Text(profile, "account", at) is { } domain ? Amo.AmoOptionsSetup.NormalizeHost(domain) : null;
        return new SourceProfile(tool, Text(profile, "form", at), account, Text(profile, "lead_name", at), fields, pipeline, sourceName, tags)
        {
            Delivery = delivery,
            Responsible = responsible,
            Task = task,
        };
    }

    // A profile as the file holds it (for the console to show and edit).
    public static JsonObject ToJson(SourceProfile profile)
    {
        var json = new JsonObject { ["source"] = profile.Tool };
        if (profile.Form is not null)
        {
            json["form"] = profile.Form;
        }

        if (profile.Account is not null)
        {
            json["account"] = profile.Account;
        }

        if (profile.LeadName is not null)
        {
            json["lead_name"] = profile.LeadName;
        }

        json["fields"] = new JsonObject(profile.Fields.Select(f => KeyValuePair.Create(f.Key, (JsonNode?)TargetText(f.Value))));
        var defaults = new JsonObject();
        if (profile.PipelineId is { } pipeline)
        {
            defaults["pipeline_id"] = pipeline;
        }

        if (profile.SourceName is not null)
        {
            defaults["source"] = profile.SourceName;
        }

        if (profile.Tags.Count > 0)
        {
            defaults["tags"] = new JsonArray([.. profile.Tags.Select(t => (JsonNode)t)]);
        }

        if (defaults.Count > 0)
        {
            json["defaults"] = defaults;
        }

        return json;
    }

    private static string TargetText(Target target) => target.Kind switch
    {
        TargetKind.ContactName => "contact.name",
        TargetKind.ContactPhone => "contact.phone",
        TargetKind.ContactEmail => "contact.email",
        TargetKind.LeadPrice => "lead.price",
        TargetKind.Note => "note",
        TargetKind.Tag => "tag",
        TargetKind.Utm => "utm:" + target.Value,
        TargetKind.LeadField => "lead.field:" + target.Value,
        TargetKind.ContactField => "contact.field:" + target.Value,
        _ => "ignore",
    };

    private static string? Text(JsonObject obj, string name, string at) => obj[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>().Trim() is { Length: > 0 } s ? s : null,
        _ => throw new SourcesFileException($"{at}.{name} must be a string"),
    };
}
