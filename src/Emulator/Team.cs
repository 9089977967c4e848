using System.Globalization;
using System.Text.Json.Nodes;

namespace Emulator;

public sealed record EmulatorUser(long Id, string Name, long GroupId, bool IsActive, long AccountId);

public sealed record EmulatorGroup(long Id, string Name, long AccountId);

public sealed record TaskRecord(
    long Id, long AccountId, string Text, long CompleteTill, long EntityId, string EntityType, long ResponsibleUserId, long TaskTypeId, long CreatedAt);

internal sealed record TaskPlan(string Text, long CompleteTill, long EntityId, string EntityType, long? ResponsibleUserId, long TaskTypeId, string? RequestId);

// An account's users, groups and tasks. Every account starts with its admin (the account's current_user_id) in
// group 0, as a fresh amoCRM account does; tests add managers and deactivate them through /_emulator/users.
public sealed class TeamState(TimeProvider time)
{
    public const long AdminUserId = 581651;
    public const long DefaultGroupId = 0;
    private const long FirstTaskId = 31000701;

    private readonly Lock _gate = new();
    private readonly List<EmulatorUser> _users = [];
    private readonly List<EmulatorGroup> _groups = [];
    private readonly HashSet<long> _seeded = [];
    private readonly List<TaskRecord> _tasks = [];
    private long _nextTaskId = FirstTaskId;

    public IReadOnlyList<EmulatorUser> UsersOf(long accountId)
    {
        lock (_gate)
        {
            SeedLocked(accountId);
            return [.. _users.Where(u => u.AccountId == accountId).OrderBy(u => u.Id)];
        }
    }

    public IReadOnlyList<EmulatorGroup> GroupsOf(long accountId)
    {
        lock (_gate)
        {
            SeedLocked(accountId);
            return [.. _groups.Where(g => g.AccountId == accountId).OrderBy(g => g.Id)];
        }
    }

    // Adds the user, or replaces the one with that id; its group is added when new.
    public EmulatorUser PutUser(long accountId, long id, string name, long groupId, bool isActive)
    {
        var user = new EmulatorUser(id, name, groupId, isActive, accountId);
        lock (_gate)
        {
            SeedLocked(accountId);
            _users.RemoveAll(u => u.AccountId == accountId && u.Id == id);
            _users.Add(user);
            if (!_groups.Any(g => g.AccountId == accountId && g.Id == groupId))
            {
                _groups.Add(new EmulatorGroup(groupId, "Group " + groupId.ToString(CultureInfo.InvariantCulture), accountId));
            }
        }

        return user;
    }

    public EmulatorGroup PutGroup(long accountId, long id, string name)
    {
        var group = new EmulatorGroup(id, name, accountId);
        lock (_gate)
        {
            SeedLocked(accountId);
            _groups.RemoveAll(g => g.AccountId == accountId && g.Id == id);
            _groups.Add(group);
        }

        return group;
    }

    public bool SetActive(long accountId, long userId, bool isActive)
    {
        lock (_gate)
        {
            SeedLocked(accountId);
            var index = _users.FindIndex(u => u.AccountId == accountId && u.Id == userId);
            if (index < 0)
            {
                return false;
            }

            _users[index] = _users[index] with { IsActive = isActive };
            return true;
        }
    }

    // Leads and tasks can be given only to a user of the account who is active.
    public bool IsAssignable(long accountId, long userId)
    {
        lock (_gate)
        {
            SeedLocked(accountId);
            return _users.Any(u => u.AccountId == accountId && u.Id == userId && u.IsActive);
        }
    }

    public IReadOnlyList<TaskRecord> TasksOf(long? accountId = null)
    {
        lock (_gate)
        {
            return [.. _tasks.Where(t => accountId is null || t.AccountId == accountId)];
        }
    }

    internal IReadOnlyList<TaskRecord> CreateTasks(long accountId, IReadOnlyList<TaskPlan> plans)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            var created = plans.Select(p => new TaskRecord(
                _nextTaskId++, accountId, p.Text, p.CompleteTill, p.EntityId, p.EntityType, p.ResponsibleUserId ?? AdminUserId, p.TaskTypeId, now)).ToList();
            _tasks.AddRange(created);
            return created;
        }
    }

    internal void Reset()
    {
        lock (_gate)
        {
            _users.Clear();
            _groups.Clear();
            _seeded.Clear();
            _tasks.Clear();
        }
    }

    private void SeedLocked(long accountId)
    {
        if (_seeded.Add(accountId))
        {
            _groups.Add(new EmulatorGroup(DefaultGroupId, "Отдел продаж", accountId));
            _users.Add(new EmulatorUser(AdminUserId, "Admin", DefaultGroupId, true, accountId));
        }
    }

    internal static JsonObject RenderUser(EmulatorUser user, bool withGroup, bool withRole, string baseUrl)
    {
        var view = new JsonObject
        {
            ["id"] = user.Id,
            ["name"] = user.Name,
            ["email"] = "user" + user.Id.ToString(CultureInfo.InvariantCulture) + "@example.com",
            ["lang"] = "ru",
            ["rights"] = new JsonObject
            {
                ["leads"] = new JsonObject { ["view"] = "A", ["edit"] = "A", ["add"] = "A", ["delete"] = "A", ["export"] = "A" },
                ["is_admin"] = user.Id == AdminUserId,
                ["is_free"] = false,
                ["is_active"] = user.IsActive,
                ["group_id"] = user.GroupId,
                ["role_id"] = null,
            },
            ["_links"] = AmoResults.Link(baseUrl + "/api/v4/users/" + user.Id.ToString(CultureInfo.InvariantCulture)),
        };
        var embedded = new JsonObject();
        if (withRole)
        {
            embedded["roles"] = new JsonArray();
        }

        if (withGroup)
        {
            embedded["groups"] = new JsonArray(new JsonObject { ["id"] = user.GroupId, ["name"] = null });
        }

        if (embedded.Count > 0)
        {
            view["_embedded"] = embedded;
        }

        return view;
    }

    internal static JsonObject RenderTask(TaskRecord task, string baseUrl) => new()
    {
        ["id"] = task.Id,
        ["created_by"] = 0,
        ["updated_by"] = 0,
        ["created_at"] = task.CreatedAt,
        ["updated_at"] = task.CreatedAt,
        ["responsible_user_id"] = task.ResponsibleUserId,
        ["group_id"] = 0,
        ["entity_id"] = task.EntityId,
        ["entity_type"] = task.EntityType,
        ["duration"] = 0,
        ["is_completed"] = false,
        ["task_type_id"] = task.TaskTypeId,
        ["text"] = task.Text,
        ["result"] = new JsonArray(),
        ["complete_till"] = task.CompleteTill,
        ["account_id"] = task.AccountId,
        ["_links"] = AmoResults.Link(baseUrl + "/api/v4/tasks/" + task.Id.ToString(CultureInfo.InvariantCulture)),
    };
}
