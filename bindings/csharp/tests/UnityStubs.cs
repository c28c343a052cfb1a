// A minimal stand-in for the few UnityEngine / UnityEditor types the Unity sample uses, so
// test.sh can compile (and drive) Samples~/StreamingChat/StreamingChat.cs without Unity.
// Only the members the sample touches exist; their behaviour is the obvious one.
using System;
using System.Collections.Generic;
using System.Reflection;

namespace UnityEngine
{
    public class Object
    {
        public string name { get; set; }
    }

    public class Component : Object
    {
    }

    public class Behaviour : Component
    {
        public bool enabled { get; set; }
        public bool isActiveAndEnabled { get { return enabled; } }
    }

    /// <summary>Unity calls Awake/OnEnable/Update/OnDisable/OnDestroy by name; the test driver does too.</summary>
    public class MonoBehaviour : Behaviour
    {
    }

    public static class Debug
    {
        public static readonly List<string> Messages = new List<string>();

        public static void Log(object message) { lock (Messages) Messages.Add("log: " + message); }
        public static void LogWarning(object message) { lock (Messages) Messages.Add("warning: " + message); }
        public static void LogError(object message) { lock (Messages) Messages.Add("error: " + message); }
        public static void LogException(Exception exception) { lock (Messages) Messages.Add("exception: " + exception); }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute
    {
    }

    [AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
    public sealed class HeaderAttribute : Attribute
    {
        public HeaderAttribute(string header) { this.header = header; }
        public readonly string header;
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class TextAreaAttribute : Attribute
    {
        public TextAreaAttribute() { }
        public TextAreaAttribute(int minLines, int maxLines) { }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class TooltipAttribute : Attribute
    {
        public TooltipAttribute(string tooltip) { }
    }
}

namespace UnityEngine.UI
{
    public class Text : UnityEngine.Component
    {
        public string text { get; set; }
    }
}

namespace UnityEditor
{
    public static class AssemblyReloadEvents
    {
        public delegate void AssemblyReloadCallback();

        public static event AssemblyReloadCallback beforeAssemblyReload;

        /// <summary>Test hook: what the editor does right before it unloads scripts.</summary>
        public static void RaiseBeforeAssemblyReload()
        {
            var h = beforeAssemblyReload;
            if (h != null) h();
        }
    }
}

/// <summary>Calls a MonoBehaviour message (private or public, no arguments) like Unity does.</summary>
public static class UnityStubDriver
{
    public static void Call(UnityEngine.MonoBehaviour target, string message)
    {
        MethodInfo m = target.GetType().GetMethod(message, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        if (m == null) return;
        try
        {
            m.Invoke(target, null);
        }
        catch (TargetInvocationException e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }
}
