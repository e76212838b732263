namespace LiveNews.Server.Deploy;

/// <summary>
/// The one owner of "this node is draining": once <see cref="Start"/> is called (SIGTERM), nothing new is
/// accepted (readiness, new connections, new editor writes), and the work already running is counted
/// until it finishes, so the node can close its connections only after it.
/// </summary>
internal sealed class Drain
{
    private readonly Lock _gate = new();
    private bool _draining;
    private int _inFlight;
    private TaskCompletionSource? _idle;

    public bool IsDraining
    {
        get
        {
            lock (_gate)
            {
                return _draining;
            }
        }
    }

    /// <summary>Counts a new piece of work (an editor write, taking share jobs); null once draining: refuse it.</summary>
    public Work? TryBegin()
    {
        lock (_gate)
        {
            if (_draining)
            {
                return null;
            }

            _inFlight++;
            return new Work(this);
        }
    }

    /// <summary>Counts work that was already accepted before the drain began (a share job taken), even while draining.</summary>
    public Work Begin()
    {
        lock (_gate)
        {
            _inFlight++;
            return new Work(this);
        }
    }

    /// <summary>Stops accepting work; the task completes when the work in flight has finished.</summary>
    public Task Start()
    {
        lock (_gate)
        {
            _draining = true;
            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_inFlight == 0)
            {
                _idle.TrySetResult();
            }

            return _idle.Task;
        }
    }

    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    private void End()
    {
        lock (_gate)
        {
            if (--_inFlight == 0 && _draining)
            {
                _idle?.TrySetResult();
            }
        }
    }

    /// <summary>One piece of work in flight; disposing it says it has finished.</summary>
    internal sealed class Work(Drain drain) : IDisposable
    {
        private int _ended;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0)
            {
                drain.End();
            }
        }
    }
}
