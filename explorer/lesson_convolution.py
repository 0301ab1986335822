"""The lesson's first pages (explorer.lesson): how a convolution works, from the chapter's matrix to one
unit of a real network. Each page's answer comes from explorer.lesson_answers."""
from __future__ import annotations

from explorer import lesson_answers as solve
from explorer.drawing.kernel_presets import CHAPTER_KERNEL, CHAPTER_MATRIX, POOL_MATRIX, PRESET_NAMES
from explorer.lesson_page import Page, frozen, pair, rows

CHAPTER_CONV, CHAPTER_PADDED, CHAPTER_POOL = PRESET_NAMES[:3]

KERNEL = Page(
    key="kernel", tab="kernel",
    title=pair("A kernel slides over a matrix", "卷积核在矩阵上滑动"),
    text=pair(
        "A convolution layer does one small sum many times. It lays a little grid of weights, the **kernel** "
        "(the chapter also calls it a **filter**), over a patch of the input, multiplies each number by the "
        "weight lying on it, and adds the products. Then it moves on and does the same again.\n\n"
        "Try it opens the chapter's own example: a 4x4 matrix, the 2x2 kernel [[1,0],[1,0]], moving two "
        "cells at a time (stride 2). The first window gives (10x1)+(11x0)+(2x1)+(123x0) = 12: the kernel's "
        "right column is all zeros, so only the left column of each window counts.\n\n"
        "Play the animation or step through it: each frame shows the window, its products and their sum, "
        "and the output fills in cell by cell. Every number is PyTorch's own (`F.conv2d`), and the code "
        "under the animation gives the same output.",
        "卷积层做的事很简单：同一个小小的加权求和，做很多遍。它把一小块方格形的权重——**卷积核**（书中也常叫它"
        "**滤波器**）——盖在输入的一块区域上，把每个数和压在它上面的权重相乘，再把乘积加起来；然后挪到下一个位置，"
        "照样再算一遍。\n\n"
        "点“试一试”会打开书中的例子：4x4 的矩阵，2x2 的卷积核 [[1,0],[1,0]]，每次移动两格（步幅为 2）。"
        "第一个窗口得到 (10x1)+(11x0)+(2x1)+(123x0) = 12：卷积核右边一列全是 0，所以每个窗口只有左列起作用。\n\n"
        "播放动画或一步一步地看：每一帧都列出窗口、各个乘积和它们的和，输出也一格一格地填满。所有的数都由 "
        "PyTorch 自己算出（`F.conv2d`），动画下方的代码能得到同样的输出。"),
    try_it=frozen(preset=CHAPTER_CONV, op="conv", stride="2", padding="0", step=2),
    question=pair("What number comes out at step 2?", "第 2 步输出的数是多少？"),
    hint=pair("Go to the second step and add up the products listed under the window; only its left "
               "column counts.",
               "走到第 2 步，把窗口下方列出的乘积加起来；只有窗口的左列起作用。"),
    why=pair("The second window is [[9,3],[4,0]]: 9x1 + 3x0 + 4x1 + 0x0 = 13.",
              "第二个窗口是 [[9,3],[4,0]]：9x1 + 3x0 + 4x1 + 0x0 = 13。"),
    solve=lambda: solve.step_value(CHAPTER_MATRIX, CHAPTER_KERNEL, 2, stride=2),
)

STRIDE_PADDING = Page(
    key="stride-padding", tab="kernel",
    title=pair("Stride, padding, and the columns PyTorch drops", "步幅、填充，以及被 PyTorch 丢掉的列"),
    text=pair(
        "The **stride** is how far the window moves at each step; the **padding** is a border of zeros put "
        "around the input before the window starts. With the kernel size they fix the output's size: along "
        "each side PyTorch computes floor((n + 2p − k) / s) + 1, and the tab writes that formula out with "
        "your numbers.\n\n"
        "When the next window would hang over the edge, PyTorch says nothing: it just leaves out the rows "
        "and columns that no window reaches. Try it keeps the chapter's matrix and kernel but sets stride 3 "
        "and no padding; the cells no window ever reads are drawn grey.\n\n"
        "Then set stride 1 and padding 1 (the chapter's second preset): the ring of zeros lets the window "
        "reach the last column, whose final window is [[3,0],[0,0]], and the output grows to 5x5.",
        "**步幅**是窗口每一步移动的格数；**填充**是在窗口出发之前给输入围上的一圈 0。它们和核大小一起决定输出的"
        "大小：PyTorch 在每个方向上计算 floor((n + 2p − k) / s) + 1，页面会用你的数字把这个公式写出来。\n\n"
        "如果下一个窗口会越出边界，PyTorch 不会提醒你，而是直接丢掉任何窗口都够不着的行和列。点“试一试”仍用书中"
        "的矩阵和卷积核，但步幅设为 3、不加填充；从来没有被窗口读到的格子画成灰色。\n\n"
        "再把步幅改成 1、填充改成 1（书中的第二个预设）：这一圈 0 让窗口够到最后一列，最后一个窗口是 "
        "[[3,0],[0,0]]，输出也变成 5x5。"),
    try_it=frozen(preset=CHAPTER_CONV, op="conv", stride="3", padding="0", step=1),
    question=pair("With stride 3 and no padding, how many of the input's columns does no window read?",
                   "步幅为 3、不加填充时，输入中有几列没有被任何窗口读到？"),
    hint=pair("Count the grey columns in the picture, or read the note beside it that names the input "
               "never read.",
               "数一数图中灰色的列，或者看旁边那段说明哪些输入“从未被读到”的文字。"),
    why=pair("Only one window fits across: it reads columns 0 and 1, and the next would start at column 3 "
              "and hang over the edge, so columns 2 and 3 are dropped.",
              "横向只放得下一个窗口：它读第 0、1 列；下一个窗口要从第 3 列开始，会越出边界，所以第 2、3 列被丢掉了。"),
    solve=lambda: solve.unread_columns(CHAPTER_MATRIX, CHAPTER_KERNEL, stride=3),
)

POOLING = Page(
    key="pooling", tab="kernel",
    title=pair("Pooling keeps the strongest", "池化：留下最强的"),
    text=pair(
        "A **pooling** layer slides a window too, but it has no weights: **max pooling** keeps the largest "
        "number under the window, **average pooling** their mean. The feature maps shrink, later layers "
        "have less to compute, and a small shift of the input barely changes the result.\n\n"
        "Try it loads the chapter's pooling example: 3 rows and 5 columns, a 3x3 window, stride 2. Exactly "
        "two windows fit, side by side, sharing the middle column.\n\n"
        "Switch the operation to average pooling and the same walk gives means instead. In PyTorch these "
        "are `nn.MaxPool2d(3, stride=2)` and `nn.AvgPool2d(3, stride=2)`; `nn.AdaptiveAvgPool2d` chooses "
        "its windows itself so that the output always has the size you ask for, whatever the input's.",
        "**池化层**也滑动一个窗口，但它没有权重：**最大池化**留下窗口里最大的数，**平均池化**留下它们的平均值。"
        "特征图因此变小，后面的层要算的更少，输入稍微挪动一点，结果也几乎不变。\n\n"
        "点“试一试”会载入书中的池化例子：3 行 5 列的输入，3x3 的窗口，步幅为 2。正好放得下两个窗口，并排，"
        "共用中间一列。\n\n"
        "把运算换成平均池化，同样的走法给出的就是平均值。在 PyTorch 里它们是 `nn.MaxPool2d(3, stride=2)` 和 "
        "`nn.AvgPool2d(3, stride=2)`；`nn.AdaptiveAvgPool2d` 会自己安排窗口，不管输入多大，输出总是你要的大小。"),
    try_it=frozen(preset=CHAPTER_POOL, matrix=rows(POOL_MATRIX), op="max", kernel_size="3", stride="2",
                  padding="0", step=2),
    question=pair("Which number does max pooling keep from the second window?",
                   "最大池化从第二个窗口里留下的是哪个数？"),
    hint=pair("Go to the second step and find the largest of the nine numbers under the window.",
               "走到第 2 步，在窗口盖住的九个数里找出最大的那个。"),
    why=pair("The second window covers columns 2 to 4; its largest number is 9, so the output is [6, 9].",
              "第二个窗口盖住第 2 到第 4 列，其中最大的是 9，所以输出是 [6, 9]。"),
    solve=lambda: solve.step_value(POOL_MATRIX, None, 2, op="max", kernel_size=3, stride=2),
)


DIGIT = dict(model="digits", picture="digit-7")

CHANNELS = Page(
    key="channels", tab="stages",
    title=pair("Channels and feature maps", "通道与特征图"),
    text=pair(
        "A real convolution layer holds many kernels at once. `nn.Conv2d(in_channels, out_channels, "
        "kernel_size)` makes `out_channels` filters; each one spans all the input channels and slides over "
        "the whole picture, and what it leaves behind is one **feature map**, one channel of the output. A "
        "filter uses the same weights and the same single bias at every position.\n\n"
        "Try it draws a 7 and sends it through the app's small digit model, a LeNet-style network: "
        "`features.conv1` turns the one-channel 28x28 drawing into 16 feature maps, `features.pool1` halves "
        "them to 14x14, `features.conv2` reads those 16 channels with 5x5 kernels, and `features.pool2` "
        "halves the result again.\n\n"
        "Each small picture in the grid is one channel; above it are its rank and its channel number, "
        "counted from 0. Click one to see it enlarged and laid over the drawing.",
        "真实的卷积层同时带着很多个卷积核。`nn.Conv2d(in_channels, out_channels, kernel_size)` 会建出 "
        "`out_channels` 个滤波器；每个滤波器横跨全部输入通道，在整张图上滑动，留下一张**特征图**，也就是输出的"
        "一个通道。同一个滤波器在每个位置上都用同一组权重和同一个偏置。\n\n"
        "点“试一试”会画一个 7，送进应用里那个小小的手写数字模型（LeNet 风格）：`features.conv1` 把单通道、"
        "28x28 的图变成 16 张特征图，`features.pool1` 把它们缩到 14x14，`features.conv2` 用 5x5 的卷积核读这 "
        "16 个通道，`features.pool2` 再把结果缩小一半。\n\n"
        "网格里的每一小张图就是一个通道，上方标着它的排名和通道号（从 0 开始数）。点一张，就能看到它放大后的"
        "样子，以及它叠在画上的位置。"),
    try_it=frozen(DIGIT, stage="features.conv2"),
    question=pair("How many channels (feature maps) does the stage features.conv2 give?",
                  "`features.conv2` 这一阶段输出多少个通道（特征图）？"),
    hint=pair("Step to features.conv2 and read the output shape the tab writes for it: channels x height x width.",
              "走到 `features.conv2` 这一阶段，看页面为它写出的输出形状：通道数 x 高 x 宽。"),
    why=pair("Its Conv2d has out_channels=32: 32 filters, each reading all 16 channels of features.pool1, "
             "give 32 feature maps of 10x10.",
             "它的 Conv2d 设了 out_channels=32：32 个滤波器各自读取 `features.pool1` 的全部 16 个通道，得到 32 张 "
             "10x10 的特征图。"),
    solve=lambda: solve.stage_channels("digits", "digit-7", "features.conv2"),
)

STAGES = Page(
    key="stages", tab="stages",
    title=pair("A real network, stage by stage", "真实的网络，一个阶段一个阶段地看"),
    text=pair(
        "Now a network trained on ImageNet: EfficientNet-Lite0 looking at a photo of a cat. Its 50 "
        "convolution and pooling stages run one after another; the slider steps through them, and the "
        "strip below shows every stage's strongest channel.\n\n"
        "Two things change as you go deeper. The maps shrink (112x112 after the first stage, 7x7 near the "
        "end) while the channels multiply. And each unit sees more of the photo: its **receptive field**, "
        "the patch of input pixels that can change it, grows with every kernel and every stride. A unit of "
        "the first stage sees 3x3 pixels; near the end one unit sees more than the whole 224x224 crop.\n\n"
        "Early maps respond to edges and colours, later ones to larger parts such as an ear or the texture "
        "of fur. Over the photo, a yellow box shows what the strongest unit of a channel sees.",
        "现在换成一个在 ImageNet 上训练过的网络：EfficientNet-Lite0，看的是一张猫的照片。它的 50 个卷积和池化"
        "阶段依次运行；用滑块一个一个地看，下方那一排显示每个阶段最强的通道。\n\n"
        "越往深处，有两件事在变。特征图越来越小（第一阶段之后是 112x112，接近末尾只剩 7x7），通道却越来越多。"
        "每个单元看到的照片范围也越来越大：它的**感受野**——能影响它的那块输入像素——每经过一个卷积核、每一次"
        "步幅都会变大。第一阶段的单元只看 3x3 个像素；接近末尾时，一个单元看到的比整张 224x224 的裁剪图还大。\n\n"
        "靠前的特征图对边缘和颜色有反应，靠后的对更大的部分有反应，比如耳朵或毛的纹理。照片上的黄框标出一个"
        "通道里最强的单元看到的范围。"),
    try_it=frozen(model="efficientnet_lite0", picture="cat", stage="blocks.2.1.conv_dw"),
    question=pair("At the stage blocks.2.1.conv_dw, how many pixels wide is the receptive field of one unit?",
                  "在 `blocks.2.1.conv_dw` 这一阶段，一个单元的感受野有多少像素宽？"),
    hint=pair("The words under the slider say how many pixels of the input each unit of the stage sees.",
              "滑块下方对这一阶段的说明写着：它的每个单元能看到输入里多少像素。"),
    why=pair("This stage's 5x5 kernel reads input units 8 pixels apart, so it adds 4 × 8 = 32 pixels to the 35 "
             "its input already saw: 67.",
             "这一阶段的 5x5 卷积核读取的输入单元彼此相隔 8 个像素，于是在输入原有的 35 个像素上又加了 "
             "4 × 8 = 32 个：67。"),
    solve=lambda: solve.receptive_width("efficientnet_lite0", "cat", "blocks.2.1.conv_dw"),
)

UNIT = Page(
    key="unit", tab="stages",
    title=pair("How one number was made", "一个数是怎么算出来的"),
    text=pair(
        "Every number in a feature map is one multiply-accumulate: the kernel's weights times the window of "
        "input under them, summed over every input channel, plus the filter's bias. The Stages tab can lay "
        "that sum out for any unit, with the layer's real weights and inputs.\n\n"
        "Try it opens the digit model's first convolution, `features.conv1`, on the drawn 7, enlarges "
        "channel 1 and picks the unit where that channel is strongest: row 2, column 17 (counted from 0). "
        "The panel \"How this number was made\" lists the 5x5 window, the kernel, their products, the "
        "partial sum and the bias.\n\n"
        "This layer reads a single input channel, so \"Animate this\" can replay the whole sum in the Kernel "
        "tab: the same window and kernel, stepped through exactly as on the first page.",
        "特征图里的每个数都来自一次乘加：卷积核的权重乘以它下面那块输入窗口，对所有输入通道求和，再加上这个"
        "滤波器的偏置。“阶段”标签页可以为任何一个单元把这笔账摊开，用的是这一层真实的权重和输入。\n\n"
        "点“试一试”会打开数字模型的第一个卷积 `features.conv1`，输入还是画出来的 7；它放大通道 1，并选中这个"
        "通道最强的单元：第 2 行、第 17 列（从 0 开始数）。“这个数是怎么算出来的”一栏列出 5x5 的窗口、卷积核、"
        "它们的乘积、部分和以及偏置。\n\n"
        "这一层只读一个输入通道，所以“在卷积核标签页中演示这一步”能把整笔求和重放一遍：同样的窗口和卷积核，"
        "一步一步地走，和第一页一模一样。"),
    try_it=frozen(DIGIT, stage="features.conv1", channel=1, unit=(2, 17)),
    question=pair("What number does this unit hold? Give it to 2 decimals.",
                  "这个单元里的数是多少？保留两位小数。"),
    hint=pair("Read the total in \"How this number was made\": the partial sum plus the bias.",
              "看“这个数是怎么算出来的”一栏里的总和：部分和加上偏置。"),
    why=pair("The 25 products of the window and the kernel, plus the bias, give exactly the number PyTorch's "
             "Conv2d wrote into the feature map.",
             "窗口和卷积核的 25 个乘积加上偏置，正好等于 PyTorch 的 Conv2d 写进特征图的那个数。"),
    solve=lambda: solve.unit_value("digits", "digit-7", "features.conv1", 1, 2, 17),
    tolerance=0.01,
)

PAGES = (KERNEL, STRIDE_PADDING, POOLING, CHANNELS, STAGES, UNIT)
