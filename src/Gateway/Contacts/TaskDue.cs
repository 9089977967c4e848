namespace Gateway.Contacts;

// When a follow-up task is due. Without working hours: due minutes after the start. With them, the minutes are working
// minutes in the account's time zone: a start outside the hours moves to the next opening, and what does not fit before
// closing goes on at the next opening (Friday 17:50 + 30 → Monday 09:20 with Monday–Friday 09:00–18:00).
internal static class TaskDue
{
    public static DateTimeOffset Compute(DateTimeOffset start, int minutes, WorkingHours? hours, TimeZoneInfo zone)
    {
        if (hours is null)
        {
            return start.AddMinutes(minutes);
        }

        var local = TimeZoneInfo.ConvertTime(start, zone).DateTime;
        var remaining = TimeSpan.FromMinutes(minutes);
        // At most a year of days is looked at: days and hours were validated, so an opening comes within a week.
        for (var day = 0; day < 400; day++)
        {
            var date = local.Date;
            var opens = date + hours.From;
            var closes = date + hours.To;
            if (hours.Days.Contains(IsoDay(date)) && local < closes)
            {
                var from = local < opens ? opens : local;
                if (from + remaining <= closes)
                {
                    return ToOffset(from + remaining, zone);
                }

                remaining -= closes - from;
            }

            local = date.AddDays(1);
        }

        return start.AddMinutes(minutes);
    }

    private static int IsoDay(DateTime date) => date.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)date.DayOfWeek;

    // A local time that a clock change skipped is read as the moment just after it.
    private static DateTimeOffset ToOffset(DateTime local, TimeZoneInfo zone)
    {
        var unspecified = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(unspecified))
        {
            unspecified = unspecified.AddMinutes(1);
        }

        return new DateTimeOffset(unspecified, zone.GetUtcOffset(unspecified));
    }
}
