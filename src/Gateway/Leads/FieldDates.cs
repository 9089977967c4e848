using System.Globalization;

namespace Gateway.Leads;

// A date as people and form builders write it: an instant (Unix seconds, or ISO 8601 with its offset), or a
// wall-clock time without one (31.05.2024, 2024-05-31 14:30), which means the account's time zone.
internal readonly record struct FieldDate(DateTimeOffset? Instant, DateTime? Local)
{
    public long ToUnixSeconds(TimeZoneInfo zone)
    {
        if (Instant is { } instant)
        {
            return instant.ToUnixTimeSeconds();
        }

        var local = DateTime.SpecifyKind(Local!.Value, DateTimeKind.Unspecified);
        // A wall-clock time skipped by a DST change has no offset of its own: the one before the change is used.
        var offset = zone.IsInvalidTime(local) ? zone.GetUtcOffset(local.AddHours(-1)) : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUnixTimeSeconds();
    }
}

internal static class FieldDates
{
    // Beyond this a number is JavaScript's milliseconds (Date.now()), not seconds: 10^12 s is the year 33658.
    private const long MillisecondsFrom = 1_000_000_000_000;

    private static readonly string[] WithOffset =
    [
        "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mmK", "yyyy-MM-dd HH:mm:ssK", "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
    ];

    private static readonly string[] WithoutOffset =
    [
        "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss",
        "d.M.yyyy", "d.M.yyyy H:mm", "d.M.yyyy H:mm:ss", "d.M.yyyy, H:mm",
    ];

    public static FieldDate? FromUnix(long seconds) =>
        seconds >= MillisecondsFrom
            ? new FieldDate(DateTimeOffset.FromUnixTimeMilliseconds(seconds), null)
            : seconds is > -62135596800 and < 253402300800 ? new FieldDate(DateTimeOffset.FromUnixTimeSeconds(seconds), null) : null;

    public static FieldDate? Parse(string text)
    {
        text = text.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        if (text.All(char.IsAsciiDigit) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return FromUnix(seconds);
        }

        // A date written with an offset (Z, +05:00) is an instant wherever the account is.
        if (HasOffset(text) && DateTimeOffset.TryParseExact(text, WithOffset, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant))
        {
            return new FieldDate(instant, null);
        }

        return DateTime.TryParseExact(text, WithoutOffset, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            ? new FieldDate(null, local)
            : null;
    }

    private static bool HasOffset(string text) =>
        text.EndsWith('Z') || text.EndsWith('z')
        || (text.Length > 16 && text[^6] is '+' or '-' && text[^3] == ':');
}
