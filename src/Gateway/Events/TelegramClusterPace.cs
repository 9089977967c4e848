using Gateway.Data;

namespace Gateway.Events;

// Telegram's limits hold for the bot, not for one process: about one message a second per chat and thirty a second
// for the bot, whichever instance sends. The database keeps the next free moment of each chat and thirty one-second
// slots of the bot; a take is one short transaction (at most 30 a second, nothing next to a lead's work). The
// in-process TelegramPacer stays in front of it, so a chat known to be busy here costs no query.
internal sealed class TelegramClusterPace(Database database, TimeProvider time)
{
    private const int BotSlots = 30;
    private static readonly TimeSpan PerChat = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan BotSlot = TimeSpan.FromSeconds(1);
    private const string Bot = "bot";

    private volatile bool botSlotsMade;

    // Null: taken, send now. Otherwise: not before then (nothing was taken).
    public async Task<DateTimeOffset?> TryTakeAsync(string chat, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var scope = "chat:" + chat;
        await using var connection = await database.OpenAsync(cancellationToken);
        await EnsureRowsAsync(connection, scope, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var skipLocked = database.IsPostgres ? " FOR UPDATE SKIP LOCKED" : "";
        var chatTaken = await Sql.ExecuteAsync(
            connection,
            "UPDATE telegram_pace SET free_at = @next WHERE scope = @scope AND slot = 0 AND free_at <= @now",
            transaction, [("scope", scope), ("now", now), ("next", now + PerChat)], cancellationToken);
        if (chatTaken == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return await FreeAtAsync(connection, scope, now, cancellationToken);
        }

        var botTaken = await Sql.ExecuteAsync(
            connection,
            $"""
            UPDATE telegram_pace SET free_at = @next
            WHERE scope = @bot AND slot = (SELECT slot FROM telegram_pace WHERE scope = @bot AND free_at <= @now ORDER BY slot LIMIT 1{skipLocked})
            """,
            transaction, [("bot", Bot), ("now", now), ("next", now + BotSlot)], cancellationToken);
        if (botTaken == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return await FreeAtAsync(connection, Bot, now, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return null;
    }

    // Telegram said retry_after: the chat, and the bot with it, wait that long on every instance.
    public async Task HoldAsync(string chat, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var scope = "chat:" + chat;
        await using var connection = await database.OpenAsync(cancellationToken);
        await EnsureRowsAsync(connection, scope, cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            "UPDATE telegram_pace SET free_at = @until WHERE (scope = @scope OR scope = @bot) AND free_at < @until",
            null, [("scope", scope), ("bot", Bot), ("until", until)], cancellationToken);
    }

    private async Task EnsureRowsAsync(System.Data.Common.DbConnection connection, string scope, CancellationToken cancellationToken)
    {
        await Sql.ExecuteAsync(connection, "INSERT INTO telegram_pace (scope, slot, free_at) VALUES (@scope, 0, 0) ON CONFLICT DO NOTHING", null, [("scope", scope)], cancellationToken);
        if (!botSlotsMade)
        {
            await Sql.ExecuteEachAsync(
                connection,
                "INSERT INTO telegram_pace (scope, slot, free_at) VALUES (@bot, @slot, 0) ON CONFLICT DO NOTHING",
                null, Enumerable.Range(0, BotSlots).ToList(), slot => [("bot", Bot), ("slot", slot)], cancellationToken);
            botSlotsMade = true;
        }
    }

    private static async Task<DateTimeOffset> FreeAtAsync(System.Data.Common.DbConnection connection, string scope, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var soonest = await Sql.ScalarInt64Async(connection, "SELECT MIN(free_at) FROM telegram_pace WHERE scope = @scope", null, [("scope", scope)], cancellationToken);
        var at = soonest is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : now;
        return at > now ? at : now + TimeSpan.FromMilliseconds(50);
    }
}
