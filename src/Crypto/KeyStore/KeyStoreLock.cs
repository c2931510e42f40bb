using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Messaging.Crypto.KeyStore;

/// <summary>
/// The exclusive lock that makes one owner of a key store at a time: a lock file beside the store, opened with
/// <see cref="FileShare.None"/>. On Unix .NET takes that as <c>flock(LOCK_EX | LOCK_NB)</c> on the open file
/// description, so it conflicts with any other open of the lock file, in another process (including one using
/// <c>flock(1)</c>) or in this one, and the kernel releases it when the holder exits, even by a crash. The holder
/// writes its process id into the file so that a refused opener can name it. The file itself is left in place
/// on release: deleting it would let a second opener lock a file that a third then replaces.
/// </summary>
internal sealed partial class KeyStoreLock : IDisposable
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const int MaximumHolderTextLength = 32;

    private readonly FileStream _stream;

    private KeyStoreLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock, or throws <see cref="KeyStoreLockedException"/> naming its holder.</summary>
    /// <exception cref="KeyStoreLockedException">Another owner holds it.</exception>
    /// <exception cref="IOException">The lock file could not be created (for example, no such directory).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public static KeyStoreLock Acquire(string lockPath)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerReadWrite;
        }

        FileStream stream;
        try
        {
            stream = new FileStream(lockPath, options);
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException and not PathTooLongException)
        {
            // The only other IOException opening an existing directory's file can raise here is the sharing
            // violation (EWOULDBLOCK from flock on Unix, ERROR_SHARING_VIOLATION on Windows).
            throw new KeyStoreLockedException(lockPath, ReadHolder(lockPath), ex);
        }

        try
        {
            if (!OperatingSystem.IsWindows())
            {
                // UnixCreateMode only applies to a new file; one left by another tool keeps its mode otherwise.
                File.SetUnixFileMode(stream.SafeFileHandle, OwnerReadWrite);
            }

            var holder = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            stream.SetLength(0);
            stream.Write(holder);
            stream.Flush(flushToDisk: true);
            return new KeyStoreLock(stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Releases the lock (closing the file releases the flock).</summary>
    public void Dispose() => _stream.Dispose();

    /// <summary>
    /// Reads the holder's process id without taking a lock: any <see cref="FileStream"/> open takes
    /// <c>flock(LOCK_SH)</c>, which the holder's exclusive lock refuses, so this reads with plain POSIX calls.
    /// </summary>
    private static int? ReadHolder(string lockPath)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        try
        {
            Span<byte> buffer = stackalloc byte[MaximumHolderTextLength];
            var length = Posix.ReadPrefix(lockPath, buffer);
            if (length <= 0)
            {
                return null;
            }

            var text = Encoding.ASCII.GetString(buffer[..length]).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id : null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static unsafe partial class Posix
    {
        private const int ReadOnly = 0;

        /// <summary>Reads up to <paramref name="buffer"/>'s length from the start of the file; -1 on any error.</summary>
        public static int ReadPrefix(string path, Span<byte> buffer)
        {
            var fd = open(path, ReadOnly);
            if (fd < 0)
            {
                return -1;
            }

            try
            {
                fixed (byte* p = buffer)
                {
                    return (int)read(fd, p, buffer.Length);
                }
            }
            finally
            {
                _ = close(fd);
            }
        }

        [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int open(string path, int flags);

        [LibraryImport("libc")]
        private static partial nint read(int fd, byte* buffer, nint count);

        [LibraryImport("libc")]
        private static partial int close(int fd);
    }
}
