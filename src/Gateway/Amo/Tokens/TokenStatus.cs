using Gateway.Amo;
using Gateway.Amo.Pacing;

namespace Gateway.Amo.Tokens;

internal static class TokenStatus
{
    public static string StateOf(AmoToken? token, DateTimeOffset now, TimeSpan margin)
    {
        if (token is null)
        {
            return "none";
        }

        if (token.State == TokenStates.ReauthorizationRequired)
        {
            return TokenStates.ReauthorizationRequired;
        }

        if (token.IsExpired(now))
        {
            return "expired";
        }

        return token.ExpiresAt - margin <= now ? "expiring" : "valid";
    }
}
