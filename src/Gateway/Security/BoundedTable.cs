namespace Gateway.Security;

// A map of at most Capacity entries, kept in the order they were last touched (oldest at the tail), for state keyed by
// what strangers choose (addresses, key names). Adding at the cap drops the oldest entry; owners drop expired entries
// from the tail with TryPeekOldest + RemoveOldest, stopping at the first live one. So every operation costs O(1)
// however many keys are tracked, and nothing scans. Not thread-safe: each owner holds its own lock.
internal sealed class BoundedTable<TValue>
{
    private readonly Dictionary<string, Node> nodes;
    private Node? newest;
    private Node? oldest;

    public BoundedTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        nodes = new Dictionary<string, Node>(StringComparer.Ordinal);
    }

    public int Capacity { get; }

    public int Count => nodes.Count;

    // Entries dropped because the table was full, not because they expired.
    public long Evicted { get; private set; }

    // Entries looked at to find what to drop: tests read it to show upkeep stays O(1) per operation.
    public long Examined { get; private set; }

    public bool TryGetValue(string key, out TValue value)
    {
        if (nodes.TryGetValue(key, out var node))
        {
            value = node.Value;
            return true;
        }

        value = default!;
        return false;
    }

    // Found entries move to the head: the most recently touched are the last to go.
    public bool TryTouch(string key, out TValue value)
    {
        if (!nodes.TryGetValue(key, out var node))
        {
            value = default!;
            return false;
        }

        Unlink(node);
        LinkNewest(node);
        value = node.Value;
        return true;
    }

    // The key must not be present. At the cap the oldest entry goes, and its node is reused: a flood allocates no nodes.
    public void Add(string key, TValue value)
    {
        Node node;
        if (nodes.Count >= Capacity && oldest is { } victim)
        {
            Examined++;
            Evicted++;
            Unlink(victim);
            nodes.Remove(victim.Key);
            node = victim;
            node.Key = key;
            node.Value = value;
        }
        else
        {
            node = new Node(key, value);
        }

        nodes.Add(key, node);
        LinkNewest(node);
    }

    public bool Remove(string key)
    {
        if (!nodes.Remove(key, out var node))
        {
            return false;
        }

        Unlink(node);
        return true;
    }

    public bool TryPeekOldest(out TValue value)
    {
        if (oldest is null)
        {
            value = default!;
            return false;
        }

        Examined++;
        value = oldest.Value;
        return true;
    }

    public void RemoveOldest()
    {
        if (oldest is { } node)
        {
            Unlink(node);
            nodes.Remove(node.Key);
        }
    }

    private void LinkNewest(Node node)
    {
        node.Older = newest;
        node.Newer = null;
        if (newest is not null)
        {
            newest.Newer = node;
        }

        newest = node;
        oldest ??= node;
    }

    private void Unlink(Node node)
    {
        if (node.Newer is null)
        {
            newest = node.Older;
        }
        else
        {
            node.Newer.Older = node.Older;
        }

        if (node.Older is null)
        {
            oldest = node.Newer;
        }
        else
        {
            node.Older.Newer = node.Newer;
        }

        node.Newer = null;
        node.Older = null;
    }

    private sealed class Node(string key, TValue value)
    {
        public string Key { get; set; } = key;

        public TValue Value { get; set; } = value;

        public Node? Newer { get; set; }

        public Node? Older { get; set; }
    }
}
