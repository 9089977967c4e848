using System.Text.Json.Nodes;
using Gateway.Amo;

namespace Gateway.Contacts;

internal sealed record TeamUser(long Id, long GroupId, bool IsActive);

internal sealed record Team(IReadOnlyList<TeamUser> Users)
{
    public bool IsActive(long id) => Users.Any(u => u.Id == id && u.IsActive);

    public IReadOnlyList<long> ActiveOf(IEnumerable<long> ids) => ids.Where(IsActive).ToList();

    public IReadOnlyList<long> ActiveInGroup(long group) => Users.Where(u => u.IsActive && u.GroupId == group).Select(u => u.Id).OrderBy(id => id).ToList();
}

// The account's users and time zone, from the info cache (AMO_CACHE_TTL_SECONDS): one GET /api/v4/users per account and
// TTL, not one per lead. A user deactivated in amoCRM is skipped once the cached list says so.
internal sealed class TeamDirectory(AmoInfoCache cache)
{
    public async Task<(Team? Team, AmoResult? Failure)> TeamAsync(string account, CancellationToken cancellationToken)
    {
        var result = await cache.UsersAsync(account, AmoCallClass.Delivery, cancellationToken);
        if (!result.Ok)
        {
            return (null, result);
        }

        var users = (result.Body?["_embedded"]?["users"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Where(u => AmoJson.Long(u["id"]) is not null)
            .Select(u => new TeamUser(
                AmoJson.Long(u["id"])!.Value,
                AmoJson.Long(u["rights"]?["group_id"]) ?? 0,
                u["rights"]?["is_active"] is JsonValue active && active.TryGetValue<bool>(out var isActive) && isActive))
            .ToList();
        return (new Team(users), null);
    }

    public async Task<(TimeZoneInfo? Zone, AmoResult? Failure)> ZoneAsync(string account, CancellationToken cancellationToken)
    {
        var result = await cache.DateTimeSettingsAsync(account, AmoCallClass.Delivery, cancellationToken);
        return result.Ok ? (Leads.LeadFieldLookup.ZoneOf(result.Body), null) : (null, result);
    }
}
