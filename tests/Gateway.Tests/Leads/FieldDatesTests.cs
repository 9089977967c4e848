using Gateway.Leads;

namespace Gateway.Tests.Leads;

// The date shapes the README promises, read in a +05:00 account (Tashkent) unless they name their own instant.
public sealed class FieldDatesTests
{
    private static readonly TimeZoneInfo Tashkent = TimeZoneInfo.CreateCustomTimeZone("test +05:00", TimeSpan.FromHours(5), "test", "test");

    [Theory]
    [InlineData("31.05.2024", "2024-05-31T00:00:00+05:00")]
    [InlineData("1.6.2024", "2024-06-01T00:00:00+05:00")]
    [InlineData("31.05.2024 14:30", "2024-05-31T14:30:00+05:00")]
    [InlineData("31.05.2024 14:30:15", "2024-05-31T14:30:15+05:00")]
    [InlineData("2024-05-31", "2024-05-31T00:00:00+05:00")]
    [InlineData("2024-05-31 14:30", "2024-05-31T14:30:00+05:00")]
    [InlineData("2024-05-31T14:30:00", "2024-05-31T14:30:00+05:00")]
    [InlineData("2024-05-31T14:30:00Z", "2024-05-31T14:30:00+00:00")]
    [InlineData("2024-05-31T14:30:00+03:00", "2024-05-31T14:30:00+03:00")]
    [InlineData("2024-05-31T14:30:00.123-04:00", "2024-05-31T14:30:00.123-04:00")]
    [InlineData("1717147800", "2024-05-31T09:30:00+00:00")]
    [InlineData("1717147800000", "2024-05-31T09:30:00+00:00")]
    public void Every_promised_shape_is_read_as_its_instant(string text, string instant)
    {
        var parsed = FieldDates.Parse(text);

        Assert.NotNull(parsed);
        Assert.Equal(DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds(), parsed.Value.ToUnixSeconds(Tashkent));
    }

    [Theory]
    [InlineData("")]
    [InlineData("tomorrow")]
    [InlineData("31/05/2024")]
    [InlineData("32.05.2024")]
    [InlineData("2024-02-30")]
    [InlineData("31.05.24")]
    [InlineData("2024-05-31T25:00:00Z")]
    public void Anything_else_is_not_a_date(string text) => Assert.Null(FieldDates.Parse(text));
}
