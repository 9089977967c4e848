namespace Gateway.Tests.Infrastructure;

internal static class Clock
{
    // Moves the fake clock in steps until the background work it drives has done what the test waits for.
    public static async Task AdvanceUntilAsync(this TestTimeProvider clock, TimeSpan step, Func<Task<bool>> done, string what, int maxSteps = 400)
    {
        for (var i = 0; i < maxSteps; i++)
        {
            if (await done())
            {
                return;
            }

            clock.Advance(step);
            // Real time for the background work to react to the step (the fake clock drives only the app).
            await Task.Delay(TimeSpan.FromMilliseconds(15), TimeProvider.System);
        }

        Assert.Fail($"Gave up after {maxSteps} steps of {step} waiting for {what}");
    }
}
