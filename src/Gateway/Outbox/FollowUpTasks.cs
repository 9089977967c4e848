namespace Gateway.Outbox;

// The outbox claims delivered leads' follow-up tasks; the Contacts room sends them (the outbox never knows a task's shape).
internal interface IFollowUpTaskSender
{
    Task<BatchVerdict> DeliverAsync(string account, IReadOnlyList<ClaimedTask> tasks, CancellationToken cancellationToken);
}
