namespace LiveNews.Server.Social;

/// <summary>
/// Holds a taken job's lease while the job is worked: renews it every third of its duration, and cancels the
/// work when a renewal finds the lease taken, or when the run reaches its budget (four fifths of the lease),
/// so that the job can never be worked by two nodes at once, even when Redis cannot be reached to renew.
/// </summary>
internal sealed class ShareLease : IAsyncDisposable
{
    private readonly CancellationTokenSource _budget;
    private readonly CancellationTokenSource _run;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewing;

    public ShareLease(ShareStore store, string jobId, string token, TimeSpan lease, TimeProvider time, CancellationToken stopping)
    {
        _budget = new CancellationTokenSource(Budget(lease), time);
        _run = CancellationTokenSource.CreateLinkedTokenSource(stopping, _budget.Token);
        _renewing = RenewAsync(store, jobId, token, lease, time);
    }

    /// <summary>Cancelled when the run must stop: the node stops, the budget is spent, or the lease was lost.</summary>
    public CancellationToken Token => _run.Token;

    public bool Lost { get; private set; }

    public bool BudgetSpent => _budget.IsCancellationRequested;

    /// <summary>How long one run may take: below the lease, so a run never outlives it.</summary>
    public static TimeSpan Budget(TimeSpan lease) => lease * 0.8;

    public void MarkLost()
    {
        Lost = true;
        _run.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewing;
        _stop.Dispose();
        _run.Dispose();
        _budget.Dispose();
    }

    private async Task RenewAsync(ShareStore store, string jobId, string token, TimeSpan lease, TimeProvider time)
    {
        try
        {
            while (true)
            {
                await Task.Delay(lease / 3, time, _stop.Token);
                bool renewed;
                try
                {
                    renewed = await store.RenewAsync(jobId, token, time.GetUtcNow(), lease);
                }
                catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
                {
                    // Try again at the next tick; the budget stops the run before the lease can lapse.
                    continue;
                }

                if (!renewed)
                {
                    MarkLost();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
