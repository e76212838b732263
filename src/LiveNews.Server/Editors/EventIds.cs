using System.Security.Cryptography;
using System.Text;

namespace LiveNews.Server.Editors;

/// <summary>
/// Ids of the events and resources one editor request creates. Under an <c>Idempotency-Key</c> they are
/// derived from the key, so a retry whose first attempt reached Redis republishes nothing: the bus
/// answers with the envelope it stored for that event id.
/// </summary>
internal sealed class EventIds
{
    private static readonly object ItemKey = new();
    private readonly string? _seed;
    private int _count;

    private EventIds(string? seed) => _seed = seed;

    public static EventIds For(HttpContext context)
    {
        if (context.Items.TryGetValue(ItemKey, out var value) && value is EventIds ids)
        {
            return ids;
        }

        ids = new EventIds(null);
        context.Items[ItemKey] = ids;
        return ids;
    }

    /// <summary>Ids for work outside a request (a sweep): random, like a request's without an idempotency key.</summary>
    public static EventIds Fresh() => new(null);

    /// <summary>Makes the ids of this request derive from the caller and its idempotency key.</summary>
    public static void Seed(HttpContext context, string seed) => context.Items[ItemKey] = new EventIds(seed);

    /// <summary>True when ids derive from an idempotency key, so a retry may find its event already published.</summary>
    public bool AreDerived => _seed is not null;

    public string NextEventId() => Next("event");

    /// <summary>An id for something the request creates (an alert, an entry), with a readable prefix.</summary>
    public string NextResourceId(string prefix) => prefix + "-" + Next(prefix)[..16];

    private string Next(string purpose)
    {
        var n = ++_count;
        if (_seed is null)
        {
            return Guid.NewGuid().ToString("N");
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{_seed}\n{purpose}\n{n}"));
        return Convert.ToHexStringLower(hash, 0, 16);
    }
}
